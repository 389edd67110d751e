// {{name}}: a Shutter step in Go (GOOS=wasip1 GOARCH=wasm), on the
// WASI-command contract: parameters arrive as one JSON object on stdin,
// outputs go as one JSON object to stdout, each stderr line is a log line
// (a "warn:", "error:" or "debug:" prefix sets its level), and the exit code
// says how it ended: 0 success, 75 a retryable failure (the engine may try
// again), anything else a fatal one whose message is the last stderr line.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// The exit codes the engine tells apart.
const (
	stepOK    = 0
	stepFatal = 1
	stepRetry = 75 // EX_TEMPFAIL: try again later (a busy peer, a lock held)
)

// fail writes the message as the last stderr line and exits with code.
func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(stepFatal, "cannot read the parameters: %v", err)
	}
	// RawMessage keeps each value's JSON text as it came (numbers too).
	var params map[string]json.RawMessage
	if err := json.Unmarshal(input, &params); err != nil || params == nil {
		fail(stepFatal, "the parameters are not a JSON object: %v", err)
	}
	fmt.Fprintln(os.Stderr, "{{name}} started")

	out, err := json.Marshal(map[string]any{"received": params})
	if err != nil {
		fail(stepFatal, "cannot encode the outputs: %v", err)
	}
	if _, err := os.Stdout.Write(append(out, '\n')); err != nil {
		fail(stepFatal, "cannot write the outputs: %v", err)
	}
	os.Exit(stepOK)
}
