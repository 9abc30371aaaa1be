"""The catalog of security notifications: every kind, the label its opt-out shows, its texts.

``subject`` and ``summary`` are ``str.format`` templates over the caller's ``context`` plus
``{actor}`` (who did it) and ``{account_name}``. Keep them plain text: the HTML email escapes them.
Every subject gets the ``[StatusPool] `` prefix from ``security_notify``; the advice is what the
reader should do if they did not expect the event.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    label: str  # Settings → Security lists the opt-outs by this
    subject: str
    summary: str
    advice: str
    # False: too serious to turn off (a leaked credential); every admin is always told.
    optional: bool = True


_KEY_ADVICE = (
    "If you did not expect this, open the key's page, review the requests it made and revoke it: "
    "{key_url}"
)
_APP_ADVICE = (
    "If you did not expect this, review the account's OAuth applications and the audit log: "
    "{apps_url}"
)
_ACCESS_ADVICE = (
    "If you did not expect this, review the team and the audit log, and change your password if "
    "someone may have used your session: {team_url}"
)

KINDS: dict[str, Kind] = {
    # --- API keys (issue 14) ------------------------------------------------------------------
    "apikey.created": Kind(
        label="An API key was created",
        subject="New API key “{key_name}” in {account_name}",
        summary="{actor} created the API key “{key_name}” ({key_display_id}) with the scopes "
        "{scopes}.",
        advice=_KEY_ADVICE,
    ),
    "apikey.rotated": Kind(
        label="An API key was rotated or replaced",
        subject="API key “{key_name}” was replaced in {account_name}",
        summary="{actor} replaced the API key “{key_name}” ({old_display_id}) with a new key "
        "({key_display_id}). {old_key_fate}",
        advice=_KEY_ADVICE,
    ),
    "apikey.revoked": Kind(
        label="An API key was revoked",
        subject="API key “{key_name}” was revoked in {account_name}",
        summary="{actor} revoked the API key “{key_name}” ({key_display_id}). {reason_sentence}",
        advice="If you did not expect this, integrations using the key now get 401 responses: "
        "create a replacement and check the audit log: {key_url}",
    ),
    "apikey.suspended": Kind(
        label="An API key was suspended",
        subject="API key “{key_name}” was suspended in {account_name}",
        summary="The API key “{key_name}” ({key_display_id}) was suspended: {reason}.",
        advice="A team admin can reactivate it if an integration still needs it: {key_url}",
    ),
    "apikey.expired": Kind(
        label="An API key expired",
        subject="API key “{key_name}” expired in {account_name}",
        summary="The API key “{key_name}” ({key_display_id}) reached its expiry date "
        "({expires_at}) and is refused from now on.",
        advice="If an integration still needs access, create a replacement key: {key_url}",
    ),
    "apikey.scopes_widened": Kind(
        label="An API key was given more scopes",
        subject="API key “{key_name}” was given more access in {account_name}",
        summary="{actor} added the scopes {added_scopes} to the API key “{key_name}” "
        "({key_display_id}); it now has {scopes}.",
        advice=_KEY_ADVICE,
    ),
    "apikey.leaked_revoked": Kind(
        label="A leaked API key or token was revoked",
        subject="A leaked credential of {account_name} was revoked",
        summary="{credential_description} was found in public at {leak_url} (reported by "
        "{reporter}) and was revoked at once.",
        advice="Requests made with it are refused now. Create a replacement, deploy it, remove the "
        "secret from where it was published, and review what it was used for: {key_url}",
        optional=False,
    ),
    # --- OAuth ------------------------------------------------------------------------------------
    "oauth.application_registered": Kind(
        label="An OAuth application was registered",
        subject="New OAuth application “{app_name}” in {account_name}",
        summary="{actor} registered the OAuth application “{app_name}”.",
        advice=_APP_ADVICE,
    ),
    "oauth.secret_reset": Kind(
        label="An OAuth client secret was reset",
        subject="Client secret of “{app_name}” was reset in {account_name}",
        summary="{actor} reset the client secret of the OAuth application “{app_name}”; the old "
        "secret no longer works.",
        advice=_APP_ADVICE,
    ),
    "oauth.application_deleted": Kind(
        label="An OAuth application was deleted",
        subject="OAuth application “{app_name}” was deleted in {account_name}",
        summary="{actor} deleted the OAuth application “{app_name}”; every token it held was "
        "revoked.",
        advice=_APP_ADVICE,
    ),
    "oauth.grant_approved": Kind(
        label="An application was given access to the account",
        subject="“{app_name}” was given access to {account_name}",
        summary="{actor} allowed the application “{app_name}” to act for them in {account_name} "
        "with the scopes {scopes}.",
        advice="If you did not expect this, revoke the access in Settings → Connected "
        "Applications: {connected_url}",
    ),
    "oauth.grant_revoked": Kind(
        label="An application’s access was revoked",
        subject="Access of “{app_name}” to {account_name} was revoked",
        summary="{actor} revoked the access of the application “{app_name}” for {grant_user} in "
        "{account_name}; its tokens no longer work.",
        advice=_ACCESS_ADVICE,
    ),
    # --- people and sign-in (the auth.* and team.* kinds are raised by issue 15's code too) -----
    "auth.2fa_disabled": Kind(
        label="An admin turned off two-factor authentication",
        subject="Two-factor authentication was turned off for {user_email}",
        summary="{actor} turned off two-factor authentication for {user_email}, a team admin of "
        "{account_name}. Until it is set up again, they cannot manage credentials.",
        advice=_ACCESS_ADVICE,
    ),
    "auth.password_changed": Kind(
        label="A password was changed",
        subject="The password of {user_email} was changed",
        summary="{actor} changed the password of {user_email}.",
        advice=_ACCESS_ADVICE,
    ),
    "auth.password_reset": Kind(
        label="A password was reset by email",
        subject="The password of {user_email} was reset",
        summary="The password of {user_email} was reset through a reset link sent by email.",
        advice=_ACCESS_ADVICE,
    ),
    "team.invited": Kind(
        label="Someone was invited to the account",
        subject="{member_email} was invited to {account_name}",
        summary="{actor} invited {member_email} to {account_name} as {role}.",
        advice=_ACCESS_ADVICE,
    ),
    "team.joined": Kind(
        label="Someone joined the account",
        subject="{member_email} joined {account_name}",
        summary="{member_email} accepted an invitation and joined {account_name} as {role}.",
        advice=_ACCESS_ADVICE,
    ),
    "team.role_changed": Kind(
        label="A member’s role changed",
        subject="The role of {member_email} in {account_name} changed",
        summary="{actor} changed the role of {member_email} from {role_before} to {role_after}.",
        advice=_ACCESS_ADVICE,
    ),
    "team.member_removed": Kind(
        label="A member was removed",
        subject="{member_email} was removed from {account_name}",
        summary="{actor} removed {member_email} from {account_name}.",
        advice=_ACCESS_ADVICE,
    ),
    "team.ownership_transferred": Kind(
        label="Ownership of the account was transferred",
        subject="Ownership of {account_name} was transferred",
        summary="{actor} transferred the ownership of {account_name} from {previous_owner} to "
        "{new_owner}.",
        advice=_ACCESS_ADVICE,
    ),
    "account.require_2fa_changed": Kind(
        label="The account's two-factor policy changed",
        subject="Two-factor authentication is {policy} in {account_name}",
        summary="{actor} changed the policy of {account_name}: two-factor authentication is "
        "{policy} for everyone.",
        advice=_ACCESS_ADVICE,
    ),
    "account.billing_email_changed": Kind(
        label="The billing email changed",
        subject="The billing email of {account_name} changed",
        summary="{actor} changed the billing email of {account_name} from {before} to {after}.",
        advice=_ACCESS_ADVICE,
    ),
}
