/* SPDX-License-Identifier: MIT */
/* scw_config_budget.c - the budget options of an <Organization> block:
 *   Budget 1000                    the organization's, per billing period
 *   BudgetThresholds 50 80 100     percent of each budget to announce
 *   <Project "name-or-id">         one project's budget
 *     Budget 200
 *   </Project>                                                           */
#include "scw_config.h"

#include "utils/common/common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BUDGET_ERROR(cfg, key, fmt, ...)                                       \
  ERROR("scw_finops plugin: Organization \"%s\": option \"%s\": " fmt,         \
        (cfg)->name, (key), __VA_ARGS__)

/* A positive amount in currency units, to exact nanos. */
static int get_amount(scw_org_config_t *cfg, const oconfig_item_t *ci,
                      int64_t *nanos) {
  double v;
  if (cf_util_get_double(ci, &v) != 0) {
    BUDGET_ERROR(cfg, ci->key, "%s", "needs exactly one numeric argument");
    return -1;
  }
  if (!(v > 0) || v > 9e9) {
    BUDGET_ERROR(cfg, ci->key, "%g is out of range (more than 0, at most 9e9)",
                 v);
    return -1;
  }
  *nanos = (int64_t)(v * 1e9 + 0.5); /* v > 0 */
  return 0;
}

static int add_budget(scw_org_config_t *cfg, const char *project,
                      int64_t nanos) {
  scw_budgets_t *b = &cfg->budgets;
  for (size_t i = 0; i < b->n_budgets; i++) {
    const char *p = b->budgets[i].project;
    if ((p == NULL && project == NULL) ||
        (p != NULL && project != NULL && strcmp(p, project) == 0)) {
      BUDGET_ERROR(cfg, "Budget", "given twice for %s%s%s",
                   project ? "project \"" : "the organization",
                   project ? project : "", project ? "\"" : "");
      return -1;
    }
  }
  scw_budget_t *more = realloc(b->budgets, (b->n_budgets + 1) * sizeof(*more));
  if (more == NULL)
    return -1;
  b->budgets = more;
  char *copy = project != NULL ? strdup(project) : NULL;
  if (project != NULL && copy == NULL)
    return -1;
  b->budgets[b->n_budgets++] = (scw_budget_t){copy, nanos};
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int get_thresholds(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  scw_budgets_t *b = &cfg->budgets;
  if (ci->values_num < 1 || ci->values_num > SCW_BUDGET_MAX_THRESHOLDS) {
    BUDGET_ERROR(cfg, ci->key, "needs 1 to %d numbers (percent)",
                 SCW_BUDGET_MAX_THRESHOLDS);
    return -1;
  }
  for (int i = 0; i < ci->values_num; i++) {
    const oconfig_value_t *v = &ci->values[i];
    if (v->type != OCONFIG_TYPE_NUMBER || !(v->value.number > 0) ||
        v->value.number > 1000) {
      BUDGET_ERROR(cfg, ci->key, "%s",
                   "arguments must be percentages above 0, at most 1000");
      return -1;
    }
    b->thresholds_bp[i] = (int64_t)(v->value.number * 100 + 0.5);
  }
  b->n_thresholds = (size_t)ci->values_num;
  qsort(b->thresholds_bp, b->n_thresholds, sizeof(int64_t), cmp_i64);
  for (size_t i = 1; i < b->n_thresholds; i++)
    if (b->thresholds_bp[i] == b->thresholds_bp[i - 1]) {
      BUDGET_ERROR(cfg, ci->key, "%s", "a threshold is given twice");
      return -1;
    }
  return 0;
}

static int get_project(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      ci->values[0].value.string[0] == '\0') {
    BUDGET_ERROR(cfg, ci->key, "%s",
                 "<Project> needs one non-empty string: a project name or id");
    return -1;
  }
  const char *project = ci->values[0].value.string;
  int64_t nanos = 0;
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    if (strcasecmp(c->key, "Budget") != 0) {
      BUDGET_ERROR(cfg, c->key, "unknown option in <Project \"%s\">", project);
      return -1;
    }
    if (get_amount(cfg, c, &nanos) != 0)
      return -1;
  }
  if (nanos == 0) {
    BUDGET_ERROR(cfg, ci->key, "<Project \"%s\"> has no Budget", project);
    return -1;
  }
  return add_budget(cfg, project, nanos);
}

int scw_config_budget_option(scw_org_config_t *cfg, const oconfig_item_t *ci) {
  int64_t nanos;
  if (strcasecmp(ci->key, "Budget") == 0)
    return get_amount(cfg, ci, &nanos) == 0 ? add_budget(cfg, NULL, nanos) : -1;
  if (strcasecmp(ci->key, "BudgetThresholds") == 0)
    return get_thresholds(cfg, ci);
  if (strcasecmp(ci->key, "Project") == 0)
    return get_project(cfg, ci);
  return 1;
}
