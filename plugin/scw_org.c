/* SPDX-License-Identifier: MIT */
/* scw_org.c - lifetime of one organization's state; see scw_org.h. */
#include "scw_org.h"

#include <stdlib.h>
#include <string.h>

scw_org_t *scw_org_new(const char *name) {
  scw_org_t *org = calloc(1, sizeof(*org));
  if (org == NULL)
    return NULL;
  org->name = strdup(name);
  org->url = strdup("https://api.scaleway.com");
  if (org->name == NULL || org->url == NULL) {
    free(org->name);
    free(org->url);
    free(org);
    return NULL;
  }
  org->group_by = SCW_GROUP_SKU;
  org->label_mode = SCW_LABEL_NAME;
  memcpy(org->currency, "EUR", 4);
  org->refresh_interval = 3600;
  org->timeout = 30;
  org->query.page_size = 1000;
  org->max_pages = 10000;
  org->max_charges = 10000000;
  org->max_retries = 3;
  org->max_response = 64 * 1024 * 1024;
  org->verify_peer = 1;
  org->verify_host = 1;
  C_COMPLAIN_INIT(&org->refresh_complaint);
  C_COMPLAIN_INIT(&org->currency_complaint);
  C_COMPLAIN_INIT(&org->naming_complaint);
  scw_slot_init(&org->slot);
  pthread_mutex_init(&org->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&org->wake, &attr);
  pthread_condattr_destroy(&attr);
  return org;
}

void scw_org_free(scw_org_t *org) {
  if (org == NULL)
    return;
  scw_worker_signal_stop(org);
  scw_worker_join(org);
  scw_slot_destroy(&org->slot);
  pthread_cond_destroy(&org->wake);
  pthread_mutex_destroy(&org->lock);
  scw_strlist_free(&org->query.project_ids);
  scw_strlist_free(&org->query.skus);
  scw_strlist_free(&org->query.resource_ids);
  scw_strlist_free(&org->query.resource_names);
  scw_strlist_free(&org->query.invoice_ids);
  scw_secret_free(org->secret_key);
  scw_secret_file_free(&org->key_file);
  free(org->name);
  free(org->host);
  free(org->organization_id);
  free(org->url);
  free(org->ca_cert);
  free(org->proxy);
  free(org);
}
