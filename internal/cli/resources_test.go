package cli

import (
	"runtime"
	"testing"
)

func TestLimitProcessors(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	cases := []struct {
		name       string
		gomaxprocs string
		jobs       int
		want       int
	}{
		{"one job", "", 1, 1},
		{"more jobs than processors", "", before + 3, before},
		{"GOMAXPROCS set by the operator", "3", 1, before},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMAXPROCS", tc.gomaxprocs)
			runtime.GOMAXPROCS(before)
			limitProcessors(tc.jobs)
			if got := runtime.GOMAXPROCS(0); got != tc.want {
				t.Errorf("GOMAXPROCS after limitProcessors(%d) = %d, want %d", tc.jobs, got, tc.want)
			}
		})
	}
}
