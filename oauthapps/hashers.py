"""A password hasher fit for client secrets: 128 random characters, checked on every token call.

PBKDF2 exists to slow down guessing of low-entropy human passwords; a client secret carries ~760
bits of randomness, so stretching only adds hundreds of milliseconds to each token exchange. A
keyed HMAC-SHA256 (the server-side pepper from ``DIGEST_PEPPERS``, whose id is stored with the
digest so peppers can rotate) is as strong here, and a leaked table is useless without the pepper.

It is a Django ``BasePasswordHasher`` so DOT's ``CLIENT_SECRET_HASHER`` hook can name it, but it is
deliberately NOT in ``PASSWORD_HASHERS``: it must never hash a user's password.

Encoded form: ``sp_hmac_sha256$<pepper id>$<hex digest>``.
"""

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash

from statuspool.crypto import current_pepper_id, digest_matches, keyed_digest

ALGORITHM = "sp_hmac_sha256"


class ClientSecretHasher(BasePasswordHasher):
    algorithm = ALGORITHM

    def salt(self):
        # The pepper id takes the salt's slot: the secret itself is random, a salt adds nothing.
        return current_pepper_id()

    def encode(self, password, salt=None):
        pepper_id, digest = keyed_digest(password, salt or None)
        return f"{self.algorithm}${pepper_id}${digest}"

    def decode(self, encoded):
        algorithm, pepper_id, digest = encoded.split("$", 2)
        if algorithm != self.algorithm:
            raise ValueError("not a client secret digest")
        return {"algorithm": algorithm, "salt": pepper_id, "hash": digest}

    def verify(self, password, encoded):
        try:
            decoded = self.decode(encoded)
        except ValueError:
            return False
        return digest_matches(password, decoded["salt"], decoded["hash"])

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "pepper": decoded["salt"],
            "hash": mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded):
        return self.decode(encoded)["salt"] != current_pepper_id()


CLIENT_SECRET_HASHER = ClientSecretHasher()


def is_encoded(value: str) -> bool:
    return value.startswith(f"{ALGORITHM}$")
