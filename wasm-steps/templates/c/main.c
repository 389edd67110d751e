/*
 * {{name}}: a Shutter step (WASI command ABI). Parameters arrive as one JSON
 * object on stdin; print one JSON object of outputs on stdout. Each stderr
 * line is a log line. Exit STEP_OK, STEP_RETRY (try again later) or
 * STEP_FATAL; step_fail() logs the reason as the last line.
 */
#include "step.h"

int main(void) {
    json_doc *doc;
    const json *params = step_read_params(&doc, JSON_DEFAULT_MAX_DEPTH, 1);
    step_log("{{name}} started");
    jbuf out = {0};
    jb_cstr(&out, "{\"received\":");
    jb_value(&out, params);
    jb_cstr(&out, "}");
    step_write(&out);
    jb_free(&out);
    json_doc_free(doc);
    return STEP_OK;
}
