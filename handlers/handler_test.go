package handlers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/batchport/batchport/internal/catalog"
	"github.com/batchport/batchport/internal/failure"
)

// stubHandler is a Handler whose Validate returns validateErr.
type stubHandler struct {
	validateErr error
}

func (h stubHandler) Validate(*catalog.Job) error { return h.validateErr }

func (h stubHandler) Execute(context.Context, *Execution) error { return nil }

func registryOf(names ...string) *Registry {
	r := NewRegistry()
	for _, name := range names {
		r.Register(name, stubHandler{})
	}
	return r
}

func TestRegistryGetKnown(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	want := stubHandler{validateErr: errors.New("marker")}
	r.Register("sql-export", want)

	got, err := r.Get("sql-export")
	if err != nil {
		t.Fatalf("Get(sql-export): %v", err)
	}
	if got != Handler(want) {
		t.Errorf("Get(sql-export) = %v, want the registered handler", got)
	}
}

func TestRegistryGetUnknown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		registered []string
		wantAll    []string
	}{
		{"three handlers", []string{"sql-export", "command", "sql"}, []string{`"sqlexport"`, "command, sql, sql-export"}},
		{"empty registry", nil, []string{`"sqlexport"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := registryOf(tc.registered...)

			handler, err := r.Get("sqlexport")
			if err == nil {
				t.Fatalf("Get(sqlexport) = %v and no error, want an error", handler)
			}
			for _, want := range tc.wantAll {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Get error = %q, want it to contain %q", err, want)
				}
			}
			class, reason := failure.Classify(err)
			if class != failure.Permanent {
				t.Errorf("Classify(Get error) = %s, want permanent: no retry can register a handler", class)
			}
			if reason != "unknown_handler" {
				t.Errorf("Classify(Get error) reason = %q, want unknown_handler", reason)
			}
		})
	}
}

func TestRegistryRegisterTwicePanics(t *testing.T) {
	t.Parallel()
	r := registryOf("sql-export")

	defer func() {
		recovered := recover()
		if recovered == nil {
			t.Fatal("Register of a name already registered did not panic")
		}
		if message, _ := recovered.(string); !strings.Contains(message, "sql-export") {
			t.Errorf("panic value = %v, want it to name sql-export", recovered)
		}
	}()
	r.Register("sql-export", stubHandler{})
}

func TestRegistryNamesSorted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		registered []string
		want       []string
	}{
		{"empty", nil, []string{}},
		{"one", []string{"sql"}, []string{"sql"}},
		{"unsorted", []string{"sql-export", "command", "sql"}, []string{"command", "sql", "sql-export"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := registryOf(tc.registered...).Names()
			if !slices.Equal(got, tc.want) {
				t.Errorf("Names() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRegistryValidate(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	r.Register("good", stubHandler{})
	r.Register("bad", stubHandler{validateErr: errors.New("export.query is missing")})

	tests := []struct {
		name     string
		handler  string
		wantErr  bool
		wantText string
	}{
		{"valid job", "good", false, ""},
		{"handler rejects job", "bad", true, "job orders: export.query is missing"},
		{"unknown handler", "missing", true, `job orders: handler "missing" is not known`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := r.Validate(&catalog.Job{Name: "orders", Handler: tc.handler})
			if !tc.wantErr {
				if err != nil {
					t.Errorf("Validate: %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate returned no error, want one")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("Validate error = %q, want it to contain %q", err, tc.wantText)
			}
		})
	}
}
