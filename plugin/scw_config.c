/* SPDX-License-Identifier: MIT */
/* scw_config.c - <Organization> block parsing and validation.
 *
 * House style of collectd's curl_json/write_http: one handler per option,
 * cf_util_get_* for typed values, and an ERROR naming the block and option.
 * Unlike them, any bad option fails the whole configuration: a cost monitor
 * that silently runs with half its filters would report wrong numbers. */
#include "scw_config.h"

#include "plugin.h"
#include "utils/common/common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define CFG_ERROR(cfg, key, fmt, ...)                                          \
  ERROR("scw_finops plugin: Organization \"%s\": option \"%s\": " fmt,         \
        (cfg)->name, (key), __VA_ARGS__)

int scw_config_min_refresh_interval(void) {
  const char *v = getenv("SCW_FINOPS_MIN_REFRESH_INTERVAL");
  int min = v != NULL ? atoi(v) : 0;
  return min >= 1 ? min : 300;
}

static int is_uuid(const char *s) {
  for (int i = 0; i < 36; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
      return 0;
  }
  return s[36] == '\0';
}

/* Adds every string argument of ci to list (one or more per line). */
static int get_list(scw_org_config_t *cfg, const oconfig_item_t *ci,
                    scw_strlist_t *list, int uuid) {
  if (ci->values_num < 1) {
    CFG_ERROR(cfg, ci->key, "%s", "needs at least one string argument");
    return -1;
  }
  for (int i = 0; i < ci->values_num; i++) {
    const oconfig_value_t *v = &ci->values[i];
    if (v->type != OCONFIG_TYPE_STRING || v->value.string[0] == '\0') {
      CFG_ERROR(cfg, ci->key, "%s", "arguments must be non-empty strings");
      return -1;
    }
    if (uuid && !is_uuid(v->value.string)) {
      CFG_ERROR(cfg, ci->key, "\"%s\" is not a UUID", v->value.string);
      return -1;
    }
    if (scw_strlist_add(list, v->value.string) != 0) {
      CFG_ERROR(cfg, ci->key, "%s", "out of memory");
      return -1;
    }
  }
  return 0;
}

/* cf_util_get_* log without naming the block: say which block it was. */
static int get_string(scw_org_config_t *cfg, const oconfig_item_t *ci, char **out) {
  if (cf_util_get_string(ci, out) == 0)
    return 0;
  CFG_ERROR(cfg, ci->key, "%s", "needs exactly one string argument");
  return -1;
}

static int get_int_range(scw_org_config_t *cfg, const oconfig_item_t *ci, int *out,
                         int min, int max) {
  int v;
  if (cf_util_get_int(ci, &v) != 0) {
    CFG_ERROR(cfg, ci->key, "%s", "needs exactly one numeric argument");
    return -1;
  }
  if (v < min || v > max) {
    CFG_ERROR(cfg, ci->key, "%d is out of range (%d..%d)", v, min, max);
    return -1;
  }
  *out = v;
  return 0;
}

static int get_bool(scw_org_config_t *cfg, const oconfig_item_t *ci, int *out) {
  bool v;
  if (cf_util_get_boolean(ci, &v) != 0) {
    CFG_ERROR(cfg, ci->key, "%s", "needs exactly one boolean argument");
    return -1;
  }
  *out = v;
  return 0;
}

/* Reads the key from the first line of a file (the worker reads it again
 * when the file changes); warns when others can read it. */
static int read_key_file(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  char *path = NULL;
  if (get_string(cfg, ci, &path) != 0)
    return -1;
  int group_readable = 0;
  scw_error_t err = {0};
  scw_rc_t rc = scw_secret_read(path, &cfg->key_file, &cfg->secret_key,
                                &group_readable, &err);
  if (rc != SCW_OK)
    CFG_ERROR(cfg, ci->key, "%s", err.msg);
  else if (group_readable)
    WARNING("scw_finops plugin: Organization \"%s\": secret key file \"%s\" "
            "is readable by group or others; chmod 600 it",
            cfg->name, path);
  free(path);
  return rc == SCW_OK ? 0 : -1;
}

static int read_key_env(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  char *var = NULL;
  if (get_string(cfg, ci, &var) != 0)
    return -1;
  const char *value = getenv(var);
  if (value == NULL || value[0] == '\0') {
    CFG_ERROR(cfg, ci->key, "environment variable %s is not set", var);
    free(var);
    return -1;
  }
  free(var);
  cfg->secret_key = strdup(value);
  return cfg->secret_key != NULL ? 0 : -1;
}

static int get_secret(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  if (cfg->secret_key != NULL) {
    CFG_ERROR(cfg, ci->key, "%s",
              "give only one of SecretKey, SecretKeyFile, SecretKeyEnv");
    return -1;
  }
  if (strcasecmp(ci->key, "SecretKeyFile") == 0)
    return read_key_file(cfg, ci);
  if (strcasecmp(ci->key, "SecretKeyEnv") == 0)
    return read_key_env(cfg, ci);
  return get_string(cfg, ci, &cfg->secret_key);
}

static int get_enum(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  char value[32];
  if (cf_util_get_string_buffer(ci, value, sizeof(value)) != 0) {
    CFG_ERROR(cfg, ci->key, "%s", "needs exactly one string argument");
    return -1;
  }
  if (strcasecmp(ci->key, "GroupBy") == 0) {
    if (scw_group_by_parse(value, &cfg->group_by) == 0)
      return 0;
    CFG_ERROR(cfg, ci->key, "\"%s\" is not one of organization, project, sku, "
              "resource", value);
    return -1;
  }
  if (strcasecmp(value, "name") == 0 || strcasecmp(value, "id") == 0) {
    cfg->label_mode = tolower((unsigned char)value[0]) == 'n' ? SCW_LABEL_NAME
                                                              : SCW_LABEL_ID;
    return 0;
  }
  CFG_ERROR(cfg, ci->key, "\"%s\" is not one of name, id", value);
  return -1;
}

static int get_currency(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  char value[16];
  if (cf_util_get_string_buffer(ci, value, sizeof(value)) != 0) {
    CFG_ERROR(cfg, ci->key, "%s", "needs exactly one string argument");
    return -1;
  }
  int ok = strlen(value) == 3;
  for (int i = 0; ok && i < 3; i++) {
    ok = isalpha((unsigned char)value[i]);
    value[i] = (char)toupper((unsigned char)value[i]); /* "eur" is EUR */
  }
  if (!ok) {
    CFG_ERROR(cfg, ci->key, "\"%s\" is not a three-letter ISO 4217 code such "
              "as EUR", value);
    return -1;
  }
  sstrncpy(cfg->currency, value, sizeof(cfg->currency));
  return 0;
}

/* "http://127.0.0.1:8080/x" -> 1: the key does not leave the machine. */
static int is_loopback_url(const char *url) {
  const char *host = strstr(url, "://");
  if (host == NULL)
    return 0;
  host += 3;
  static const char *const loopback[] = {"127.", "localhost", "[::1]"};
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(loopback); i++) {
    size_t n = strlen(loopback[i]);
    if (strncasecmp(host, loopback[i], n) == 0 &&
        (loopback[i][n - 1] == '.' || strchr(":/", host[n]) != NULL))
      return 1;
  }
  return 0;
}

static int get_url(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  if (get_string(cfg, ci, &cfg->url) != 0)
    return -1;
  if (strncasecmp(cfg->url, "https://", 8) != 0 &&
      strncasecmp(cfg->url, "http://", 7) != 0) {
    CFG_ERROR(cfg, ci->key, "\"%s\" must start with https:// or http://",
              cfg->url);
    return -1;
  }
  return 0;
}

/* Settings that expose the secret key get a WARNING: they are legal (a local
 * proxy, a test API), but should never be silent. */
static void warn_insecure(const scw_org_config_t *cfg) {
  if (strncasecmp(cfg->url, "http://", 7) == 0 && !is_loopback_url(cfg->url))
    WARNING("scw_finops plugin: Organization \"%s\": URL \"%s\" is plain "
            "HTTP: the secret key is sent in clear text; use https://",
            cfg->name, cfg->url);
  if (!cfg->verify_peer || !cfg->verify_host)
    WARNING("scw_finops plugin: Organization \"%s\": %s is false: the TLS "
            "certificate is not checked and the secret key may go to an "
            "impostor; use CACert for a private CA instead",
            cfg->name, !cfg->verify_peer ? "VerifyPeer" : "VerifyHost");
}

static int get_max_response(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  double v;
  if (cf_util_get_double(ci, &v) != 0) {
    CFG_ERROR(cfg, ci->key, "%s", "needs exactly one numeric argument");
    return -1;
  }
  /* 4 GiB, or less where size_t is smaller (32-bit builds): the limit is
   * compared with size_t byte counts, and must not wrap to 0. */
  double max = (double)UINT64_C(4294967296);
  if ((double)SIZE_MAX < max)
    max = (double)SIZE_MAX;
  if (v < 4096 || v > max) {
    CFG_ERROR(cfg, ci->key, "%.0f bytes is out of range (4096..%.0f)", v, max);
    return -1;
  }
  cfg->max_response = (size_t)v;
  return 0;
}

/* 0 (no cap) or at least 2: one kept series and "other". */
static int get_max_series(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  int v;
  if (get_int_range(cfg, ci, &v, 0, 10000000) != 0)
    return -1;
  if (v == 1) {
    CFG_ERROR(cfg, ci->key, "%s", "must be 0 (no cap) or at least 2");
    return -1;
  }
  cfg->max_series = (size_t)v;
  return 0;
}

static int config_option(scw_org_config_t *cfg, const oconfig_item_t *c) {
  const char *k = c->key;
  int page_size = (int)cfg->query.page_size;
  if (strcasecmp(k, "OrganizationID") == 0) {
    if (get_string(cfg, c, &cfg->organization_id) != 0)
      return -1;
    if (is_uuid(cfg->organization_id))
      return 0;
    CFG_ERROR(cfg, k, "\"%s\" is not a UUID", cfg->organization_id);
    return -1;
  }
  if (strcasecmp(k, "SecretKey") == 0 || strcasecmp(k, "SecretKeyFile") == 0 ||
      strcasecmp(k, "SecretKeyEnv") == 0)
    return get_secret(cfg, c);
  if (strcasecmp(k, "URL") == 0)
    return get_url(cfg, c);
  if (strcasecmp(k, "ProjectID") == 0)
    return get_list(cfg, c, &cfg->query.project_ids, 1);
  if (strcasecmp(k, "SKU") == 0)
    return get_list(cfg, c, &cfg->query.skus, 0);
  if (strcasecmp(k, "ResourceID") == 0)
    return get_list(cfg, c, &cfg->query.resource_ids, 0);
  if (strcasecmp(k, "ResourceName") == 0)
    return get_list(cfg, c, &cfg->query.resource_names, 0);
  if (strcasecmp(k, "InvoiceID") == 0)
    return get_list(cfg, c, &cfg->query.invoice_ids, 1);
  if (strcasecmp(k, "GroupBy") == 0 || strcasecmp(k, "ProjectLabel") == 0)
    return get_enum(cfg, c);
  if (strcasecmp(k, "Currency") == 0)
    return get_currency(cfg, c);
  if (strcasecmp(k, "RefreshInterval") == 0)
    return get_int_range(cfg, c, &cfg->refresh_interval,
                         scw_config_min_refresh_interval(), 31 * 86400);
  if (strcasecmp(k, "Timeout") == 0)
    return get_int_range(cfg, c, &cfg->timeout, 1, 3600);
  if (strcasecmp(k, "PageSize") == 0) {
    if (get_int_range(cfg, c, &page_size, 1, 1000) != 0)
      return -1;
    cfg->query.page_size = (unsigned)page_size;
    return 0;
  }
  if (strcasecmp(k, "MaxPages") == 0)
    return get_int_range(cfg, c, &cfg->max_pages, 1, 1000000);
  if (strcasecmp(k, "MaxCharges") == 0)
    return get_int_range(cfg, c, &cfg->max_charges, 1, 1000000000);
  if (strcasecmp(k, "MaxRetries") == 0)
    return get_int_range(cfg, c, &cfg->max_retries, 0, 10);
  if (strcasecmp(k, "SettlePeriod") == 0)
    return get_int_range(cfg, c, &cfg->settle_period, 1, 14 * 86400);
  if (strcasecmp(k, "StartupSpread") == 0)
    return get_int_range(cfg, c, &cfg->startup_spread, 0, 86400);
  if (strcasecmp(k, "RefreshTimeout") == 0)
    return get_int_range(cfg, c, &cfg->refresh_timeout, 1, 86400);
  if (strcasecmp(k, "MaxResponseSize") == 0)
    return get_max_response(cfg, c);
  if (strcasecmp(k, "Host") == 0)
    return get_string(cfg, c, &cfg->host);
  if (strcasecmp(k, "VerifyPeer") == 0)
    return get_bool(cfg, c, &cfg->verify_peer);
  if (strcasecmp(k, "VerifyHost") == 0)
    return get_bool(cfg, c, &cfg->verify_host);
  if (strcasecmp(k, "CACert") == 0)
    return get_string(cfg, c, &cfg->ca_cert);
  if (strcasecmp(k, "Proxy") == 0)
    return get_string(cfg, c, &cfg->proxy);
  if (strcasecmp(k, "MaxSeries") == 0)
    return get_max_series(cfg, c);
  if (strcasecmp(k, "SendMetadata") == 0) {
    if (c->values_num == 1 && c->values[0].type == OCONFIG_TYPE_STRING &&
        strcasecmp(c->values[0].value.string, "auto") == 0) {
      cfg->send_metadata = -1;
      return 0;
    }
    return get_bool(cfg, c, &cfg->send_metadata);
  }
  int budget = scw_config_budget_option(cfg, c);
  if (budget <= 0)
    return budget;
  CFG_ERROR(cfg, k, "%s", "unknown option");
  return -1;
}

static int check_complete(scw_org_config_t *cfg) {
  if (cfg->organization_id == NULL) {
    CFG_ERROR(cfg, "OrganizationID", "%s", "is required");
    return -1;
  }
  if (cfg->secret_key == NULL) {
    CFG_ERROR(cfg, "SecretKeyFile", "%s",
              "no secret key: set SecretKeyFile, SecretKeyEnv or SecretKey");
    return -1;
  }
  if (cfg->refresh_timeout == 0) {
    /* Half the interval (so a refresh never runs into the next one), at
     * least one request timeout, at most 10 minutes. */
    cfg->refresh_timeout = cfg->refresh_interval / 2;
    if (cfg->refresh_timeout < cfg->timeout)
      cfg->refresh_timeout = cfg->timeout;
    if (cfg->refresh_timeout > 600)
      cfg->refresh_timeout = 600;
  }
  if (cfg->refresh_timeout < cfg->timeout)
    WARNING("scw_finops plugin: Organization \"%s\": RefreshTimeout (%d s) is "
            "shorter than Timeout (%d s): a slow page will hit RefreshTimeout",
            cfg->name, cfg->refresh_timeout, cfg->timeout);
  if (cfg->host == NULL && (cfg->host = strdup(cfg->name)) == NULL)
    return -1;
  if (strlen(cfg->host) >= DATA_MAX_NAME_LEN) {
    CFG_ERROR(cfg, "Host", "\"%s\" is longer than %d bytes", cfg->host,
              DATA_MAX_NAME_LEN - 1);
    return -1;
  }
  for (size_t i = 0; i < cfg->budgets.n_budgets; i++)
    if (cfg->budgets.budgets[i].project != NULL &&
        cfg->group_by == SCW_GROUP_ORGANIZATION) {
      CFG_ERROR(cfg, "Project", "%s", "a project's Budget needs GroupBy "
                "project, sku or resource");
      return -1;
    }
  cfg->query.base_url = cfg->url;
  cfg->query.organization_id = cfg->organization_id;
  warn_insecure(cfg);
  return 0;
}

int scw_config_organization(const oconfig_item_t *ci, scw_org_config_t *cfg) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      ci->values[0].value.string[0] == '\0') {
    ERROR("scw_finops plugin: <Organization> needs exactly one non-empty "
          "string argument, its name");
    return -1;
  }
  if (scw_org_config_init(cfg, ci->values[0].value.string) != 0) {
    ERROR("scw_finops plugin: out of memory");
    return -1;
  }
  int status = 0;
  for (int i = 0; i < ci->children_num && status == 0; i++)
    status = config_option(cfg, &ci->children[i]);
  if (status == 0)
    status = check_complete(cfg);
  if (status != 0)
    scw_org_config_free(cfg);
  return status;
}
