# SPDX-License-Identifier: MIT
# sums.jq - per-SKU sums of EUR charges in nano-units, with jq.
#   jq -rn -f sums.jq page-0001.json page-0002.json ...
# Sums stay exact while below 2^53 nano-units (about 9 million EUR per SKU).
reduce (inputs | .charges[] | select(.price != null and .price.currency_code == "EUR")) as $c
  ({}; .[$c.sku] += (($c.price.units // 0) * 1000000000 + ($c.price.nanos // 0)))
| to_entries[] | "\(.key)\t\(.value)"
