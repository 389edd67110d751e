// spiral, in Go (GOOS=wasip1): the same step as examples/c/spiral.c, on the
// same WASI-command contract (see ../../../README.md).
//
// Input: {"tree": T}, where T is null or {"value": number|string, "left": T,
// "right": T} (children optional). Output: {"order": [...]}, the values in
// level order, odd levels (the root's is 1) right-to-left and even levels
// left-to-right, so 1(2(4,5),3(6,7)) gives [1, 2, 3, 7, 6, 5, 4].
//
// It matches the C module byte for byte on valid input: numbers keep their
// source text (1.50 stays 1.50), strings are escaped the same way, members
// are looked up first-match, and errors are found in the same order with
// the same messages. Only JSON syntax errors are worded by encoding/json.
//
// Nothing here recurses: the input is read with encoding/json's streaming
// Decoder.Token (json.Unmarshal stops at 10,000 levels of nesting, and a
// 10,000-deep tree inside {"tree": ...} is 10,001), and the traversal holds
// one level at a time.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	exitFatal = 1
	// exitRetry (75, EX_TEMPFAIL) would ask the engine to retry; spiral
	// has no transient failures.

	// maxInput: larger inputs are refused (as in step.h: 64 MiB or more).
	maxInput = 64 << 20
	// maxTreeDepth bounds the tree's nesting, as MAX_TREE_DEPTH in C; the
	// parameters object adds one level.
	maxTreeDepth = 100000
	maxDepth     = maxTreeDepth + 1
)

// fail writes msg as the last stderr line and exits. Like step_fail in C:
// newlines become spaces and a line is cut at 2,047 bytes.
func fail(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	line = strings.NewReplacer("\n", " ", "\r", " ").Replace(line)
	if len(line) > 2047 {
		line = line[:2044] + "..."
	}
	os.Stderr.WriteString(line + "\n")
	os.Exit(exitFatal)
}

type kind int

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

var kindNames = [...]string{"null", "boolean", "number", "string", "array", "object"}

func (k kind) String() string { return kindNames[k] }

// value is one parsed JSON value. Object members keep their order and
// duplicates, so lookups can return the first match as the C reader does.
type value struct {
	kind  kind
	text  string   // number: source text; string: decoded; bool: true/false
	keys  []string // object member names, parallel to items
	items []*value // array elements or object member values
}

func (v *value) get(key string) *value {
	for i, k := range v.keys {
		if k == key {
			return v.items[i]
		}
	}
	return nil
}

// unknownMember returns the first member name not in allowed.
func (v *value) unknownMember(allowed ...string) (string, bool) {
next:
	for _, k := range v.keys {
		for _, a := range allowed {
			if k == a {
				continue next
			}
		}
		return k, true
	}
	return "", false
}

// position turns a byte offset into "line L, column C" (1-based, columns
// counted in bytes), the form the C reader uses.
func position(input []byte, offset int64) string {
	if offset > int64(len(input)) {
		offset = int64(len(input))
	}
	if offset < 0 {
		offset = 0
	}
	line, col := 1, 1
	for _, c := range input[:offset] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

func invalid(input []byte, offset int64, format string, args ...any) {
	fail("parameters are not valid JSON: %s: %s", position(input, offset), fmt.Sprintf(format, args...))
}

// parse reads one JSON value iteratively: `stack` holds the open
// containers, so nesting costs heap, never call stack.
func parse(input []byte) *value {
	// encoding/json quietly turns invalid UTF-8 into U+FFFD; the C reader
	// refuses it, and so does this one.
	for i := 0; i < len(input); {
		r, n := utf8.DecodeRune(input[i:])
		if r == utf8.RuneError && n <= 1 {
			invalid(input, int64(i), "invalid UTF-8")
		}
		i += n
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber() // json.Number is the number's source text
	var root *value
	var stack []*value
	for root == nil {
		tok, err := dec.Token()
		if err != nil {
			syntaxError(input, dec, err, root == nil && len(stack) == 0)
		}
		var v *value
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxDepth {
					invalid(input, dec.InputOffset()-1, "nesting deeper than %d levels", maxDepth)
				}
				c := &value{kind: kArray}
				if t == '{' {
					c.kind = kObject
				}
				stack = append(stack, c)
				continue
			default: // '}' or ']': the innermost container is complete
				v = stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
		case string:
			top := (*value)(nil)
			if len(stack) > 0 {
				top = stack[len(stack)-1]
			}
			if top != nil && top.kind == kObject && len(top.keys) == len(top.items) {
				top.keys = append(top.keys, t) // a member name
				continue
			}
			v = &value{kind: kString, text: t}
		case json.Number:
			if _, err := strconv.ParseFloat(string(t), 64); errors.Is(err, strconv.ErrRange) {
				invalid(input, dec.InputOffset()-int64(len(t)), "number out of range")
			}
			v = &value{kind: kNumber, text: string(t)}
		case bool:
			v = &value{kind: kBool, text: strconv.FormatBool(t)}
		case nil:
			v = &value{kind: kNull}
		}
		if len(stack) == 0 {
			root = v
		} else {
			top := stack[len(stack)-1]
			top.items = append(top.items, v)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			syntaxError(input, dec, err, false)
		}
		invalid(input, dec.InputOffset(), "unexpected data after the JSON value")
	}
	checkSurrogates(input)
	return root
}

func syntaxError(input []byte, dec *json.Decoder, err error, atStart bool) {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// Offset counts the bytes read up to and including the bad one.
		invalid(input, se.Offset-1, "%s", se.Error())
	case err == io.EOF && atStart:
		invalid(input, int64(len(input)), "no JSON value in the input")
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		invalid(input, int64(len(input)), "unexpected end of input")
	default:
		invalid(input, dec.InputOffset(), "%s", err.Error())
	}
}

// checkSurrogates refuses \u escapes that are unpaired UTF-16 surrogates,
// which encoding/json would decode to U+FFFD and the C reader refuses. It
// runs on input already known to be valid JSON, so a quote outside a
// string always opens one.
func checkSurrogates(input []byte) {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(input) || input[i] != '\\' || input[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(input[i+2:i+6]), 16, 32)
		return rune(n), err == nil
	}
	in := false
	for i := 0; i < len(input); i++ {
		switch c := input[i]; {
		case c == '"':
			in = !in
		case in && c == '\\':
			cp, ok := hex4(i)
			switch {
			case !ok:
				i++ // a one-character escape
			case cp >= 0xDC00 && cp <= 0xDFFF:
				invalid(input, int64(i+6), "lone low surrogate \\u%04X", cp)
			case cp >= 0xD800 && cp <= 0xDBFF:
				lo, ok := hex4(i + 6)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					invalid(input, int64(i+6), "high surrogate \\u%04X without a low surrogate", cp)
				}
				i += 11
			default:
				i += 5
			}
		}
	}
}

// appendString writes s as a JSON string exactly as jb_string in C does:
// only the required escapes, other control characters as \u00XX, and all
// other text (valid UTF-8 here) unchanged.
func appendString(out []byte, s string) []byte {
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			out = append(out, `\"`...)
		case '\\':
			out = append(out, `\\`...)
		case '\n':
			out = append(out, `\n`...)
		case '\r':
			out = append(out, `\r`...)
		case '\t':
			out = append(out, `\t`...)
		case '\b':
			out = append(out, `\b`...)
		case '\f':
			out = append(out, `\f`...)
		default:
			if c < 0x20 {
				out = fmt.Appendf(out, `\u%04x`, c)
			} else {
				out = append(out, c)
			}
		}
	}
	return append(out, '"')
}

func quote(s string) string { return string(appendString(nil, s)) }

// checkedValue checks one tree node and returns its value; depth and pos
// (1-based, left to right) locate it in messages.
func checkedValue(node *value, depth, pos int) *value {
	if bad, ok := node.unknownMember("value", "left", "right"); ok {
		fail("tree node at level %d, position %d: unknown member %s", depth, pos, quote(bad))
	}
	v := node.get("value")
	if v == nil {
		fail(`tree node at level %d, position %d: missing "value"`, depth, pos)
	}
	if v.kind != kNumber && v.kind != kString {
		fail(`tree node at level %d, position %d: "value" must be a number or a string, got %s`,
			depth, pos, v.kind)
	}
	return v
}

// gather adds node's child `side` to next unless it is absent or null.
func gather(next []*value, node *value, side string, depth, pos int) []*value {
	child := node.get(side)
	if child == nil || child.kind == kNull {
		return next
	}
	if child.kind != kObject {
		fail(`tree node at level %d, position %d: "%s" must be an object or null, got %s`,
			depth, pos, side, child.kind)
	}
	return append(next, child)
}

func main() {
	input, err := io.ReadAll(io.LimitReader(os.Stdin, maxInput))
	if err != nil {
		fail("cannot read stdin: %v", err)
	}
	if len(input) >= maxInput {
		fail("parameters larger than %d bytes", maxInput)
	}
	params := parse(input)
	if params.kind != kObject {
		fail("parameters must be a JSON object, got %s", params.kind)
	}
	if bad, ok := params.unknownMember("tree"); ok {
		fail("unknown parameter %s", quote(bad))
	}
	tree := params.get("tree")
	if tree == nil {
		fail(`missing parameter "tree"`)
	}
	if tree.kind != kNull && tree.kind != kObject {
		fail(`"tree" must be an object or null, got %s`, tree.kind)
	}

	var cur, next []*value
	if tree.kind == kObject {
		cur = append(cur, tree)
	}
	out := []byte(`{"order":[`)
	first := true
	for depth := 1; len(cur) > 0; depth++ {
		leftToRight := depth%2 == 0
		for k := range cur {
			i := k
			if !leftToRight {
				i = len(cur) - 1 - k
			}
			v := checkedValue(cur[i], depth, i+1)
			if !first {
				out = append(out, ',')
			}
			first = false
			if v.kind == kNumber {
				out = append(out, v.text...)
			} else {
				out = appendString(out, v.text)
			}
		}
		next = next[:0]
		for i, node := range cur {
			next = gather(next, node, "left", depth, i+1)
			next = gather(next, node, "right", depth, i+1)
		}
		cur, next = next, cur
	}
	out = append(out, "]}\n"...)
	if _, err := os.Stdout.Write(out); err != nil {
		fail("cannot write stdout: %v", err)
	}
}
