// Package handlers holds the Handler interface, the registry of handlers by
// name, and the handlers themselves.
package handlers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/batchport/batchport/internal/catalog"
	"github.com/batchport/batchport/internal/failure"
)

// Handler executes one kind of job.
type Handler interface {
	// Validate checks the handler's part of a job definition.
	Validate(job *catalog.Job) error
	// Execute runs exec. Finished steps are recorded through exec.Steps, and
	// steps that an earlier attempt finished are skipped. The error's class
	// (see package failure) decides whether it is retried.
	Execute(ctx context.Context, exec *Execution) error
}

// Execution is one attempt at a run.
type Execution struct {
	Run   *catalog.Run
	Steps StepRecorder
	// NoDeliver stops after the export (development and switch-back drills).
	NoDeliver bool
}

// StepRecorder records step results in the run ledger, fenced by the
// attempt's claim, and returns results of steps finished earlier.
type StepRecorder interface {
	// Done decodes the recorded result of step into result and reports
	// whether the step had finished.
	Done(step string, result any) (bool, error)
	// Record stores the result of a finished step; Done returns it from then on.
	Record(ctx context.Context, step string, result any) error
	// CheckLease returns an error if this attempt no longer holds the run's
	// lease, so that a worker that lost it does not put a file in place.
	CheckLease(ctx context.Context) error
}

// Registry maps handler names, as job.yaml's handler key writes them, to handlers.
type Registry struct {
	handlers map[string]Handler
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{handlers: map[string]Handler{}}
}

// Register adds handler under name; registering a name twice panics, as it is a programming error.
func (r *Registry) Register(name string, handler Handler) {
	if _, ok := r.handlers[name]; ok {
		panic("handlers: " + name + " registered twice")
	}
	r.handlers[name] = handler
}

// Get returns the handler for name. An unknown name is a permanent failure.
func (r *Registry) Get(name string) (Handler, error) {
	handler, ok := r.handlers[name]
	if !ok {
		return nil, failure.Permanentf("unknown_handler", "handler %q is not known: use one of %s", name, strings.Join(r.Names(), ", "))
	}
	return handler, nil
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.handlers))
	for name := range r.handlers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Validate checks job with its handler.
func (r *Registry) Validate(job *catalog.Job) error {
	handler, err := r.Get(job.Handler)
	if err != nil {
		return fmt.Errorf("job %s: %w", job.Name, err)
	}
	if err := handler.Validate(job); err != nil {
		return fmt.Errorf("job %s: %w", job.Name, err)
	}
	return nil
}
