/* fixture_json.h: reads a JSON file of a fixture case (case.json, expected.json, ...) for the
 * e2e tests. Header-only: both test programs of this folder include it once. */
#ifndef TLV_TEST_FIXTURE_JSON_H
#define TLV_TEST_FIXTURE_JSON_H

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "harness.h"

/* dir/name parsed, or NULL (with the path on stderr); the caller frees with cJSON_Delete */
static cJSON *load_json(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = tlv_test_read_file(path, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!j) fprintf(stderr, "cannot read %s\n", path);
    return j;
}

#endif
