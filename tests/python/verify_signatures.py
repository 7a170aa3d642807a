"""Checks call-out signatures with `standardwebhooks`, the reference Standard Webhooks package.

Usage: python3 verify_signatures.py CASES.json

CASES.json is a list of objects with `name`, `secret`, `headers` (`webhook-id`,
`webhook-timestamp`, `webhook-signature`), `body_base64` and `valid`, the expected outcome.
Prints one line per case and then `N of M cases as expected`, and exits with 1 if any case
did not come out as expected.
"""

import base64
import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def check(case):
    """Returns whether the signature of `case` verifies with its secret."""
    body = base64.b64decode(case["body_base64"])
    try:
        # json_parse=False, so a GET call-out's empty body verifies too.
        Webhook(case["secret"]).verify(body, case["headers"], json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: verify_signatures.py CASES.json")
    with open(sys.argv[1], encoding="utf-8") as file:
        cases = json.load(file)

    passed = failed = 0
    for case in cases:
        verified = check(case)
        expected = case["valid"]
        outcome = "verified" if verified else "rejected"
        if verified == expected:
            passed += 1
            print(f"ok: {case['name']}: {outcome}")
        else:
            failed += 1
            wanted = "verified" if expected else "rejected"
            print(f"FAILED: {case['name']}: {outcome}, expected {wanted}")
    print(f"{passed} of {len(cases)} cases as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
