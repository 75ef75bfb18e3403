#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What an operator does to a running collectd, through the real daemon:
rotating the secret key file without a restart."""

import os

import harness as h

OLD_KEY = "old-revoked-key-5a1f"


def write_key(path, key):
    """Writes the key as `install -m 600` and editors do: a new file renamed
    over the old one."""
    tmp = path + ".new"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(key + "\n")
    os.replace(tmp, path)


def total(cd):
    return h.read_csv_value(cd.csvdir, "acme", "", "currency", "total")


def test_rotated_secret_file_used_without_restart(work):
    h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"))
    key_file = work.file("scw.key")
    write_key(key_file, OLD_KEY)
    block = h.org_block("acme", h.ORG1, sim.url, secret=None, SecretKeyFile=key_file,
                        RefreshInterval=2, MaxRetries=0)
    cd = h.Collectd(work, [block]).start()
    try:
        h.wait_for(lambda: "re-read and holds the same key" in cd.log(), 30,
                   "a 401 with the old key, and the file re-read")
        assert "HTTP 401" in cd.log(), cd.log()
        assert total(cd) is None, "a cost was published with a rejected key"
        pid = cd.proc.pid

        write_key(key_file, h.SECRET)
        h.wait_for(lambda: total(cd) is not None, 60, "the total with the new key")
        log = cd.log()
        assert 'SecretKeyFile "%s" changed: re-read' % key_file in log, log
        assert "refresh succeeded again" in log, log
        assert cd.alive() and cd.proc.pid == pid, "collectd was restarted"
        assert OLD_KEY not in log and h.SECRET not in log, "a key reached the log"
        # Every request after the rotation carried the new key.
        auth = [r["auth_ok"] for r in sim.charge_requests()]
        first_ok = auth.index(True)
        assert all(auth[first_ok:]), auth
    finally:
        cd.stop()
        sim.stop()


if __name__ == "__main__":
    h.run([test_rotated_secret_file_used_without_restart])
