/* SPDX-License-Identifier: MIT */
/* scw_notify.c - budget notifications; see scw_notify.h. */
#include "scw_notify.h"

#include "plugin.h"
#include "utils/common/common.h"

#include <inttypes.h>
#include <stdio.h>

#include "scw_money.h"
#include "scw_naming.h"

/* "1234.50": cents, rounded half away from zero (amounts in messages only;
 * the exact value goes into the notification's meta data). */
static void format_cents(int64_t nanos, char *buf, size_t size) {
  int64_t cents = nanos / 10000000, rest = nanos % 10000000;
  if (rest >= 5000000)
    cents++;
  else if (rest <= -5000000)
    cents--;
  snprintf(buf, size, "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "",
           (cents < 0 ? -cents : cents) / 100, (cents < 0 ? -cents : cents) % 100);
}

void scw_notify_budget(const scw_org_config_t *cfg, const scw_snapshot_t *snap,
                       const scw_budget_event_t *ev) {
  notification_t n = {
      .severity = ev->kind == SCW_BUDGET_USED && ev->threshold_bp >= 10000
                      ? NOTIF_FAILURE
                      : NOTIF_WARNING,
      .time = cdtime(),
  };
  sstrncpy(n.host, cfg->host, sizeof(n.host));
  sstrncpy(n.plugin, "scw_finops", sizeof(n.plugin));
  if (ev->project != NULL)
    sstrncpy(n.plugin_instance, ev->project->plugin_instance,
             sizeof(n.plugin_instance));
  sstrncpy(n.type, "budget_percent", sizeof(n.type));
  sstrncpy(n.type_instance, ev->kind == SCW_BUDGET_USED ? "used" : "forecast",
           sizeof(n.type_instance));
  char amount[32], budget[32], who[160];
  format_cents(ev->amount_nanos, amount, sizeof(amount));
  format_cents(ev->budget->budget_nanos, budget, sizeof(budget));
  if (ev->budget->project != NULL) {
    char safe[64];
    scw_log_safe(ev->budget->project, safe, sizeof(safe));
    snprintf(who, sizeof(who), "%s, project %s", cfg->name, safe);
  } else {
    snprintf(who, sizeof(who), "%s", cfg->name);
  }
  if (ev->kind == SCW_BUDGET_USED)
    snprintf(n.message, sizeof(n.message),
             "%s: month-to-date cost %s %s reached %g%% of the budget %s %s "
             "(%s)",
             who, amount, snap->currency, (double)ev->threshold_bp / 100.0,
             budget, snap->currency, snap->period);
  else
    snprintf(n.message, sizeof(n.message),
             "%s: end-of-month forecast %s %s exceeds the budget %s %s (%s)",
             who, amount, snap->currency, budget, snap->currency, snap->period);
  char exact[32];
  scw_money_format(ev->amount_nanos, exact, sizeof(exact));
  plugin_notification_meta_add_string(&n, "amount", exact);
  scw_money_format(ev->budget->budget_nanos, exact, sizeof(exact));
  plugin_notification_meta_add_string(&n, "budget", exact);
  plugin_notification_meta_add_string(&n, "currency", snap->currency);
  plugin_notification_meta_add_string(&n, "billing_period", snap->period);
  plugin_notification_meta_add_double(&n, "threshold",
                                      (double)ev->threshold_bp / 100.0);
  plugin_dispatch_notification(&n);
  plugin_notification_meta_free(n.meta);
}
