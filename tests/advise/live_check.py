#!/usr/bin/env python3
"""advise.live: the report `pqtls advise -i lo --duration` wrote against
counts derived (test_advise.derive) from the records `pqtls observe -i lo`
wrote for the same handshakes at the same time.

Usage: live_check.py ADVISE_JSONL OBSERVE_JSONL CLIENT_JSONL"""
import json
import sys

import test_advise

adv = [json.loads(line) for line in open(sys.argv[1])]
obs = [json.loads(line) for line in open(sys.argv[2])]
client = [json.loads(line) for line in open(sys.argv[3])]
if len(obs) != len(client) or len(client) == 0:
    test_advise.fail(f"observe saw {len(obs)} handshakes, the client made {len(client)}")
test_advise.compare("live", "openssl30", obs, open(sys.argv[1], "rb").read())
if sum(a["handshakes"] for a in adv) != len(client):
    test_advise.fail(f"advise counted {sum(a['handshakes'] for a in adv)} handshakes, "
                     f"the client made {len(client)}")
if test_advise.failures:
    sys.exit(1)
print(f"advise.live: {len(adv)} services, {len(client)} handshakes agree")
