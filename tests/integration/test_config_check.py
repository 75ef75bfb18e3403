#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Configuration errors through the real daemon: `collectd -T` must fail
with one clear ERROR line naming the block and the option, and never print
the secret."""

import harness as h

SECRET = "s3cr3t-never-in-logs-9f2c"


def check(work, body, needles):
    cd = h.Collectd(work, [], raw_plugin_config=body)
    rc, out = cd.run_once()
    assert rc != 0, "collectd -T accepted a bad config:\n" + out
    for needle in needles:
        assert needle in out, "output lacks %r:\n%s" % (needle, out)
    assert SECRET not in out, "the secret key was printed"


def block(*lines):
    return '<Organization "acme">\n%s\n</Organization>' % "\n".join(lines)


def test_missing_organization_id(work):
    check(work, block('SecretKey "%s"' % SECRET),
          ['Organization "acme": option "OrganizationID": is required'])


def test_no_secret(work):
    check(work, block('OrganizationID "%s"' % h.ORG1), ["no secret key"])


def test_page_size_zero(work):
    check(work, block('OrganizationID "%s"' % h.ORG1, 'SecretKey "%s"' % SECRET, "PageSize 0"),
          ['option "PageSize": 0 is out of range'])


def test_refresh_interval_too_small(work):
    cd = h.Collectd(work, [], raw_plugin_config=block(
        'OrganizationID "%s"' % h.ORG1, 'SecretKey "%s"' % SECRET, "RefreshInterval 10"))
    rc, out = cd.run_once(env={"SCW_FINOPS_MIN_REFRESH_INTERVAL": ""})
    assert rc != 0 and 'option "RefreshInterval": 10 is out of range (300..' in out, out


def test_unknown_group_by(work):
    check(work, block('OrganizationID "%s"' % h.ORG1, 'SecretKey "%s"' % SECRET,
                      'GroupBy "flavour"'), ['option "GroupBy": "flavour" is not one of'])


def test_unknown_option(work):
    check(work, block('OrganizationID "%s"' % h.ORG1, 'SecretKey "%s"' % SECRET,
                      'Colour "blue"'), ['option "Colour": unknown option'])


def test_same_host_twice(work):
    two = "\n".join('<Organization "%s">\nOrganizationID "%s"\nSecretKey "%s"\nHost "costs"\n'
                    '</Organization>' % (name, h.ORG1, SECRET) for name in ("eur", "usd"))
    check(work, two, ['Organization "usd": Host "costs" is already used by Organization "eur"'])


def test_lower_case_currency_accepted(work):
    """`Currency "usd"` is USD (ISO codes are compared in any case): the
    config passes; the read fails only because nothing listens on port 9."""
    cd = h.Collectd(work, [], raw_plugin_config=block(
        'OrganizationID "%s"' % h.ORG1, 'SecretKey "%s"' % SECRET, 'Currency "usd"',
        'URL "http://127.0.0.1:9"'))
    rc, out = cd.run_once()
    assert 'option "Currency"' not in out, out
    assert "Parsing the config file failed" not in out, out


def test_unknown_top_level_option(work):
    check(work, 'Colour "blue"', ['unknown option "Colour"'])


if __name__ == "__main__":
    h.run([
        test_missing_organization_id,
        test_no_secret,
        test_page_size_zero,
        test_refresh_interval_too_small,
        test_unknown_group_by,
        test_unknown_option,
        test_unknown_top_level_option,
        test_same_host_twice,
        test_lower_case_currency_accepted,
    ])
