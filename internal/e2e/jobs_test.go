package e2e

import (
	"fmt"
	"os"
)

// jobSpec is a test job: a query delivered to one SFTP folder.
type jobSpec struct {
	query string
	// runKey and fileName are templates; by default both use the param k.
	runKey   string
	fileName string
	// sftpAddress and knownHostsEnv default to the stack's SFTP server.
	sftpAddress   string
	knownHostsEnv string
	timeout       string
}

// addExportJob writes a sql-export job with a required string param k,
// reading the demo database and delivering to the test's SFTP folder.
func (s *stack) addExportJob(name string, spec jobSpec) {
	if spec.runKey == "" {
		spec.runKey = "{{.Job}}/{{.Params.k}}"
	}
	if spec.fileName == "" {
		spec.fileName = "{{.Params.k}}.csv"
	}
	if spec.sftpAddress == "" {
		spec.sftpAddress = s.env.SFTPAddress
	}
	if spec.knownHostsEnv == "" {
		spec.knownHostsEnv = "PARTNER_SFTP_KNOWN_HOSTS"
	}
	if spec.timeout == "" {
		spec.timeout = "10m"
	}
	s.addJob(name, fmt.Sprintf(`name: %s
description: A test job.
owner: team-test
runbook: {why: tests, impact_if_stopped: none, switch_back: none}
run_key: %q
params:
  k: {type: string, required: true}
timeout: %s
handler: sql-export
export: {query: query.sql}
backup: {key: "%s/{{.Params.k}}.csv"}
deliver:
  - sftp:
      address: %s
      user: partner
      private_key_env: PARTNER_SFTP_KEY
      known_hosts_env: %s
      dir: %s
      name: %q
`, name, spec.runKey, spec.timeout, name, spec.sftpAddress, spec.knownHostsEnv, s.sftpDir, spec.fileName), spec.query+"\n")
}

// message returns a job message body for job with k set.
func message(job, k string) string {
	return fmt.Sprintf(`{"version": 1, "job": %q, "params": {"k": %q}}`, job, k)
}

// sftpFiles returns the names in the test's SFTP folder.
func (s *stack) sftpFiles() []string {
	s.t.Helper()
	entries, err := os.ReadDir(s.env.SFTPRoot + s.sftpDir)
	if err != nil {
		s.t.Fatal(err)
	}
	var names []string
	for _, entry := range entries {
		names = append(names, entry.Name())
	}
	return names
}
