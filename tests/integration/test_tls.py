#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TLS through the real daemon: the simulator serves HTTPS on 127.0.0.1
with a self-signed certificate. By default the plugin refuses it with a
clear error; with CACert pointing at that certificate it accepts it."""

import subprocess

import harness as h


def make_cert(work):
    cert, key = work.file("cert.pem"), work.file("key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True,
                   timeout=60)
    return cert, key


def https_sim(work):
    h.generate_dataset(work.file("dataset.json"))
    sim = h.Simulator(work, work.file("dataset.json"), tls=make_cert(work))
    return sim, sim.url


def test_self_signed_refused_by_default(work):
    sim, url = https_sim(work)
    cd = None
    try:
        cd = h.Collectd(work, [h.org_block("acme", h.ORG1, url, MaxRetries=0)]).start()
        h.wait_for(lambda: "transport error" in cd.log(), 30, "the TLS error")
        out = cd.log()
        assert "certificate" in out, out
        assert h.read_csv_costs(cd.csvdir, "acme") == {}
        assert h.SECRET not in out
        assert sim.charge_requests() == [], "no request may pass the TLS handshake"
    finally:
        if cd is not None:
            cd.stop()
        sim.stop()


def test_accepted_with_cacert(work):
    sim, url = https_sim(work)
    cd = None
    try:
        cd = h.Collectd(work, [h.org_block("acme", h.ORG1, url,
                                           CACert=work.file("cert.pem"))]).start()
        h.wait_for(lambda: ("", "total") in h.read_csv_costs(cd.csvdir, "acme"), 30,
                   "the total over HTTPS")
        assert "certificate" not in cd.log()
    finally:
        if cd is not None:
            cd.stop()
        sim.stop()


if __name__ == "__main__":
    h.run([test_self_signed_refused_by_default, test_accepted_with_cacert])
