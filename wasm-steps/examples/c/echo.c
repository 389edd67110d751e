/*
 * echo: outputs {"echo": <params>}. The smallest real step: it still parses
 * and re-serialises, so benchmarks measure the full JSON round trip a step
 * pays, not just process start-up.
 */
#include "step.h"

int main(void) {
    json_doc *doc;
    const json *params = step_read_params(&doc, JSON_DEFAULT_MAX_DEPTH, 1);
    jbuf out = {0};
    jb_cstr(&out, "{\"echo\":");
    jb_value(&out, params);
    jb_cstr(&out, "}");
    step_write(&out);
    jb_free(&out);
    json_doc_free(doc);
    return STEP_OK;
}
