package e2e

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// Invalid flag values exit with status 2 and a message with the valid range, before any
// message is sent or the ledger is opened.
func TestInvalidFlagValuesRejected(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"runs", "list", "--limit", "0"}, "--limit 0 is invalid"},
		{[]string{"runs", "list", "--limit", "-1"}, "--limit -1 is invalid"},
		{[]string{"enqueue", "partner-daily-orders", "--wait", "--timeout", "0s"}, "--timeout 0s is invalid"},
		{[]string{"schedules", "next", "partner-daily-orders", "--count", "0"}, "--count 0 is invalid"},
		{[]string{"enqueue", "partner-daily-orders", "--json"}, "--json and --timeout apply only with --wait"},
	}
	for _, test := range tests {
		_, stderr, err := s.run(test.args...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("batchport %s: %v, want exit status 2", strings.Join(test.args, " "), err)
		}
		if !strings.Contains(stderr, test.want) {
			t.Errorf("batchport %s: stderr %q, want it to contain %q", strings.Join(test.args, " "), stderr, test.want)
		}
	}
	if visible, inFlight := s.queues.Count(t, s.queues.URL); visible+inFlight != 0 {
		t.Errorf("queue holds %d messages after a rejected enqueue, want 0", visible+inFlight)
	}
}
