package main

// A small cgo binding for libshinny; the library is linked from
// ../../target/release (built by `cargo build --release -p shinny-ffi`) and
// found there at run time through the rpath.

/*
#cgo CFLAGS: -I${SRCDIR}/../../ffi/include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -lshinny -Wl,-rpath,${SRCDIR}/../../target/release
#include <stdlib.h>
#include "shinny.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// Severities by ShinnySeverity value.
var severities = []string{"none", "information", "warning", "error", "fatal"}

// Error is a failed call: the status and the library's message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Message) }

// check must run on the OS thread that made the call, because the last
// error message is thread-local; callers lock the goroutine to its thread.
// cgo gives the C enum return type as uint32.
func check(st uint32) error {
	if st == C.SHINNY_STATUS_OK {
		return nil
	}
	msg := "?"
	if p := C.shinny_last_error(); p != nil {
		msg = C.GoString(p)
	}
	return &Error{Status: int(st), Message: msg}
}

// Context is a compiled validation context, safe for concurrent use.
type Context struct{ h *C.ShinnyContext }

// ContextFromArtifactFile loads a rules artifact written by `shinny compile`.
func ContextFromArtifactFile(path string) (*Context, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var h *C.ShinnyContext
	if err := check(C.shinny_context_from_artifact_file(cpath, &h)); err != nil {
		return nil, err
	}
	return &Context{h}, nil
}

// Close releases the context.
func (c *Context) Close() {
	C.shinny_context_free(c.h)
	c.h = nil
}

// Result is a validation result copied into Go values.
type Result struct {
	Outcome     map[string]any
	ErrorCount  int
	MaxSeverity string
}

// Validate validates JSON bytes (a resource or a Bundle).
func (c *Context) Validate(data []byte) (*Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Copy into C memory: cgo forbids keeping Go pointers, and this keeps
	// the call simple for empty slices too.
	buf := C.CBytes(data)
	defer C.free(buf)
	var r *C.ShinnyResult
	if err := check(C.shinny_validate(c.h, (*C.uint8_t)(buf), C.size_t(len(data)), nil, nil, &r)); err != nil {
		return nil, err
	}
	defer C.shinny_result_free(r)
	var js *C.char
	var n C.size_t
	if err := check(C.shinny_result_outcome_json(r, &js, &n)); err != nil {
		return nil, err
	}
	var errors C.size_t
	if err := check(C.shinny_result_error_count(r, &errors)); err != nil {
		return nil, err
	}
	var sev uint32
	if err := check(C.shinny_result_max_severity(r, &sev)); err != nil {
		return nil, err
	}
	res := &Result{ErrorCount: int(errors), MaxSeverity: severities[int(sev)]}
	if err := json.Unmarshal(C.GoBytes(unsafe.Pointer(js), C.int(n)), &res.Outcome); err != nil {
		return nil, err
	}
	return res, nil
}

// MessageIDs lists the message ids of the outcome's issues.
func (r *Result) MessageIDs() []string {
	var ids []string
	issues, _ := r.Outcome["issue"].([]any)
	for _, i := range issues {
		issue, _ := i.(map[string]any)
		exts, _ := issue["extension"].([]any)
		for _, e := range exts {
			ext, _ := e.(map[string]any)
			url, _ := ext["url"].(string)
			if strings.HasSuffix(url, "/operationoutcome-message-id") {
				id, _ := ext["valueString"].(string)
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Version is the library version.
func Version() string { return C.GoString(C.shinny_version()) }

// ABIVersion is the ABI of the loaded library.
func ABIVersion() int { return int(C.shinny_abi_version()) }

// HeaderABIVersion is the ABI this binding was compiled against.
const HeaderABIVersion = C.SHINNY_ABI_VERSION
