package ledger

import (
	"errors"
	"regexp"
)

var urlPassword = regexp.MustCompile(`(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@`)

// redactURL hides a password that a connection error may quote from its URL.
func redactURL(err error) error {
	text := err.Error()
	redacted := urlPassword.ReplaceAllString(text, "${1}REDACTED@")
	if redacted == text {
		return err
	}
	return errors.New(redacted)
}
