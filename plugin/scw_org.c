/* SPDX-License-Identifier: MIT */
/* scw_org.c - defaults and release of a block's configuration; see
 * scw_org.h. */
#include "scw_org.h"

#include <stdlib.h>
#include <string.h>

int scw_org_config_init(scw_org_config_t *cfg, const char *name) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->name = strdup(name);
  cfg->url = strdup("https://api.scaleway.com");
  if (cfg->name == NULL || cfg->url == NULL) {
    scw_org_config_free(cfg);
    return -1;
  }
  cfg->group_by = SCW_GROUP_SKU;
  cfg->label_mode = SCW_LABEL_NAME;
  memcpy(cfg->currency, "EUR", 4);
  cfg->refresh_interval = 3600;
  cfg->startup_spread = -1;
  cfg->timeout = 30;
  cfg->query.page_size = 1000;
  cfg->max_pages = 10000;
  cfg->max_charges = 10000000;
  cfg->max_retries = 3;
  cfg->max_response = 64 * 1024 * 1024;
  cfg->verify_peer = 1;
  cfg->verify_host = 1;
  cfg->max_series = SCW_DEFAULT_MAX_SERIES;
  cfg->send_metadata = -1; /* auto, resolved at init */
  static const int64_t thresholds_bp[] = {5000, 8000, 10000};
  memcpy(cfg->budgets.thresholds_bp, thresholds_bp, sizeof(thresholds_bp));
  cfg->budgets.n_thresholds = 3;
  return 0;
}

void scw_org_config_free(scw_org_config_t *cfg) {
  scw_strlist_free(&cfg->query.project_ids);
  scw_strlist_free(&cfg->query.skus);
  scw_strlist_free(&cfg->query.resource_ids);
  scw_strlist_free(&cfg->query.resource_names);
  scw_strlist_free(&cfg->query.invoice_ids);
  scw_secret_free(cfg->secret_key);
  scw_secret_file_free(&cfg->key_file);
  free(cfg->name);
  free(cfg->host);
  free(cfg->organization_id);
  free(cfg->url);
  free(cfg->ca_cert);
  free(cfg->proxy);
  scw_budgets_free(&cfg->budgets);
  memset(cfg, 0, sizeof(*cfg));
}
