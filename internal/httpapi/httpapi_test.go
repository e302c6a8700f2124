package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		field  string
		msg    string // substring of the client-safe message
	}{
		{"invalid", fmt.Errorf("catalog: %w", Invalid("documents[0].software", "unknown software %q", "nextclud")), 422, "documents[0].software", `unknown software "nextclud"`},
		{"not found wrapped", fmt.Errorf("catalog: replay x: %w", ErrNotFound), 404, "", "not found"},
		{"throttled", fmt.Errorf("auth: %w", &ThrottledError{RetryAfter: 1500 * time.Millisecond}), 429, "", "retry in 2 s"},
		{"conflict", fmt.Errorf("pipeline: %w", ErrConflict), 409, "", "conflict"},
		{"unauthorized", fmt.Errorf("auth: %w", ErrUnauthorized), 401, "", "Bearer"},
		{"forbidden", fmt.Errorf("auth: %w", ErrForbidden), 403, "", "forbidden"},
		{"max bytes", &http.MaxBytesError{Limit: 10}, 413, "", "10 bytes"},
		{"unavailable", fmt.Errorf("assets: %w", ErrUnavailable), 503, "", "unavailable"},
		{"public", fmt.Errorf("x: %w", Errorf(415, "send multipart/form-data")), 415, "", "multipart"},
		{"cancelled", context.Canceled, 499, "", "cancelled"},
		{"internal hides detail", errors.New("sql: secret table exploded"), 500, "", "internal error"},
	}
	// A hidden thing answers as a missing one: the cause stays in the log.
	_, missing := Classify(fmt.Errorf("catalog: replay x: %w", ErrNotFound))
	_, hidden := Classify(fmt.Errorf("web: replay x is not published: %w", ErrNotFound))
	if missing != hidden {
		t.Errorf("404 bodies differ: %+v and %+v", missing, hidden)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := Classify(tc.err)
			if status != tc.status || body.Field != tc.field || !strings.Contains(body.Error, tc.msg) {
				t.Fatalf("Classify = %d %+v; want %d field %q msg ~%q", status, body, tc.status, tc.field, tc.msg)
			}
			if status == 500 && strings.Contains(body.Error, "secret") {
				t.Fatal("internal error details leaked to the client")
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	type in struct {
		Title string `json:"title"`
		Count int    `json:"count"`
	}
	tests := []struct {
		name  string
		body  string
		field string // "" with ok=true means success
		ok    bool
	}{
		{"ok", `{"title":"a","count":2}`, "", true},
		{"unknown field", `{"titel":"a"}`, "titel", false},
		{"wrong type", `{"count":"two"}`, "count", false},
		{"syntax", `{"title":`, "", false},
		{"empty", ``, "", false},
		{"trailing", `{"title":"a"} {"title":"b"}`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			var v in
			err := DecodeJSON(httptest.NewRecorder(), r, &v)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tc.field {
				t.Fatalf("err = %#v, want InvalidError on field %q", err, tc.field)
			}
		})
	}
	big := `{"title":"` + strings.Repeat("x", MaxJSONBody) + `"}`
	err := DecodeJSON(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(big)), &in{})
	if status, _ := Classify(err); status != 413 {
		t.Fatalf("oversized body: status %d (%v), want 413", status, err)
	}
}

func TestParsePage(t *testing.T) {
	tests := []struct {
		query      string
		limit, off int
		field      string
	}{
		{"", 50, 0, ""},
		{"limit=10&offset=20", 10, 20, ""},
		{"limit=0", 0, 0, "limit"},
		{"limit=201", 0, 0, "limit"},
		{"offset=-1", 0, 0, "offset"},
		{"limit=abc", 0, 0, "limit"},
	}
	for _, tc := range tests {
		p, err := ParsePage(httptest.NewRequest("GET", "/?"+tc.query, nil))
		if tc.field != "" {
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tc.field {
				t.Errorf("%q: err = %v, want field %s", tc.query, err, tc.field)
			}
			continue
		}
		if err != nil || p.Limit != tc.limit || p.Offset != tc.off {
			t.Errorf("%q: %+v %v", tc.query, p, err)
		}
	}
	if n := (Page{Limit: 10, Offset: 0}).NextOffset(25); n == nil || *n != 10 {
		t.Errorf("NextOffset = %v, want 10", n)
	}
	if n := (Page{Limit: 10, Offset: 20}).NextOffset(25); n != nil {
		t.Errorf("NextOffset on last page = %v, want nil", *n)
	}
}

func TestMiddlewareRecoversAndTagsRequests(t *testing.T) {
	h := Middleware(slogDiscard(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || rec.Header().Get("X-Request-Id") == "" {
		t.Fatalf("panic: status %d, request id %q", rec.Code, rec.Header().Get("X-Request-Id"))
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
