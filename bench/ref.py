# SPDX-License-Identifier: MIT
"""ref.py - the Python reference: what a user would write with collectd's
python plugin, standard library only.

    python3 ref.py DIR sku|resource [SUMS_OUT]

Follows next_page_token from DIR/page-0001.json, json.loads each page, sums
exact integer nano-units (units * 10**9 + nanos) per (project, SKU) or per
(project, SKU, resource) in a dict, keeps the latest project name, skips
other currencies. Prints the same RESULT line as the C programs (the timed
part excludes interpreter start-up, like theirs)."""
import json
import os
import resource
import sys
import time


def run(directory, group_by):
    groups = {}
    project_names = {}
    total = charges = skipped = pages = nbytes = 0
    token = "page-0001"
    while token:
        with open(os.path.join(directory, token + ".json"), "rb") as f:
            body = f.read()
        nbytes += len(body)
        page = json.loads(body)
        pages += 1
        for c in page["charges"]:
            price = c.get("price")
            amount = 0
            if price:
                if price.get("currency_code") != "EUR":
                    skipped += 1
                    continue
                amount = int(price.get("units") or 0) * 1_000_000_000 + int(price.get("nanos") or 0)
            project = c["project_id"]
            name = c.get("project_name")
            if name:
                project_names[project] = name
            if group_by == "sku":
                key = (project, c["sku"])
            else:
                key = (project, c["sku"], c.get("resource_id") or "")
            groups[key] = groups.get(key, 0) + amount
            total += amount
            charges += 1
        token = page.get("next_page_token")
    return groups, project_names, total, charges, pages, nbytes


def main():
    directory, group_by = sys.argv[1], sys.argv[2]
    w0, c0 = time.perf_counter(), time.process_time()
    groups, names, total, charges, pages, nbytes = run(directory, group_by)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"RESULT wall={wall:.6f} cpu={cpu:.6f} charges={charges} pages={pages} "
          f"bytes={nbytes} groups={len(groups)} projects={len({k[0] for k in groups})} "
          f"total_nanos={total} rss_kb={rss}")
    if len(sys.argv) > 3:
        per_sku = {}
        for key, v in groups.items():
            per_sku[key[1]] = per_sku.get(key[1], 0) + v
        with open(sys.argv[3], "w") as f:
            for sku in sorted(per_sku, key=lambda s: s.encode()):
                f.write(f"{sku}\t{per_sku[sku]}\n")


if __name__ == "__main__":
    main()
