/* SPDX-License-Identifier: MIT */
/* scw_apierror.c - describing Scaleway error bodies; see scw_apierror.h. */
#include "scw_apierror.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static const char *field(json_object *obj, const char *key) {
  json_object *v;
  if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static const char *hint_for(long status) {
  switch (status) {
  case 400: return "the request was rejected; check the filters in the configuration";
  case 401: return "check the secret key (SecretKeyFile, SecretKey or SecretKeyEnv)";
  case 404: return "check URL: it must be the API base, e.g. https://api.scaleway.com";
  case 429: return "rate limited by the API; the next refresh will retry";
  default: return status >= 500 ? "server-side error; the next refresh will retry" : NULL;
  }
}

/* "argument page_size: must be <= 1000 (constraint)" for the first detail. */
static void describe_details(json_object *root, char *buf, size_t size) {
  json_object *details;
  buf[0] = '\0';
  if (root == NULL || !json_object_object_get_ex(root, "details", &details) ||
      !json_object_is_type(details, json_type_array) ||
      json_object_array_length(details) == 0)
    return;
  json_object *d = json_object_array_get_idx(details, 0);
  const char *arg = field(d, "argument_name");
  const char *help = field(d, "help_message");
  const char *reason = field(d, "reason");
  if (arg != NULL)
    snprintf(buf, size, "; argument %s: %s (%s)", arg, help ? help : "invalid",
             reason ? reason : "unknown");
}

/* The body as a JSON object, or NULL (not JSON, not an object, too big:
 * error bodies are small, a huge one is not worth parsing). */
static json_object *parse_body(const char *body, size_t len) {
  json_object *root = NULL;
  if (body == NULL || len == 0 || len >= 65536)
    return NULL;
  json_tokener *tok = json_tokener_new();
  if (tok == NULL)
    return NULL;
  root = json_tokener_parse_ex(tok, body, (int)len);
  if (root != NULL && !json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    root = NULL;
  }
  json_tokener_free(tok);
  return root;
}

int scw_api_error_reset_seconds(const char *body, size_t len, double *seconds) {
  json_object *root = parse_body(body, len);
  json_object *v;
  int found = root != NULL && json_object_object_get_ex(root, "reset_seconds", &v) &&
              (json_object_is_type(v, json_type_int) ||
               json_object_is_type(v, json_type_double)) &&
              json_object_get_double(v) >= 0;
  if (found)
    *seconds = json_object_get_double(v);
  json_object_put(root);
  return found ? 0 : -1;
}

void scw_api_error_describe(long status, const char *body, size_t len,
                            const char *organization_id, char *buf,
                            size_t size) {
  json_object *root = parse_body(body, len);
  const char *type = field(root, "type");
  const char *message = field(root, "message");
  if (message == NULL)
    message = field(root, "help_message");
  const char *reason = field(root, "reason");

  char details[256];
  describe_details(root, details, sizeof(details));
  char hint[256];
  if (status == 403)
    snprintf(hint, sizeof(hint),
             "permission denied: the API key needs BillingReadOnly on "
             "organization %s",
             organization_id);
  else
    snprintf(hint, sizeof(hint), "%s", hint_for(status) ? hint_for(status) : "");

  char raw[768];
  snprintf(raw, sizeof(raw), "HTTP %ld%s%s%s%s%s%s%s%s%s", status,
           type ? " " : "", type ? type : "", message ? ": " : "",
           message ? message : "", reason ? " (reason " : "",
           reason ? reason : "", reason ? ")" : "", details,
           root == NULL && body != NULL && len > 0 ? " (non-JSON body)" : "");
  char line[1024];
  snprintf(line, sizeof(line), "%s%s%s", raw, hint[0] ? " -- " : "", hint);
  scw_log_safe(line, buf, size);
  json_object_put(root);
}
