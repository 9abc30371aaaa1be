"""Dashboard views of the accounts app: sign-up and login, security settings, team."""
