package catalog

import (
	"errors"
	"fmt"
)

// CSV is the output format of an export. The defaults give what
// `psql \copy ... with (format csv, header)` prints.
type CSV struct {
	// Header writes the column names first. Default: true.
	Header *bool `yaml:"header"`
	// Encoding of the file. Default: utf-8.
	Encoding string `yaml:"encoding"`
	// BOM writes a UTF-8 byte order mark first. Default: false.
	BOM bool `yaml:"bom"`
	// Newline ends each record: lf or crlf. Default: lf.
	Newline string `yaml:"newline"`
	// Null is the text written for SQL NULL. Default: "" (an unquoted empty field).
	Null string `yaml:"null"`
	// Quote is the quoting rule. Default: minimal (only fields that need it).
	Quote string `yaml:"quote"`
}

// WithHeader reports whether the header line is written.
func (c CSV) WithHeader() bool {
	return c.Header == nil || *c.Header
}

// validate rejects settings the exporter does not implement. The exporter
// streams PostgreSQL's own CSV, which is UTF-8 with LF record ends and
// minimal quoting.
//
// TODO: encoding cp932, bom, newline crlf, a non-empty null text and quote
// all are not implemented; a job that sets them fails validation.
func (c CSV) validate() error {
	var errs []error
	if c.Encoding != "" && c.Encoding != "utf-8" {
		errs = append(errs, fmt.Errorf("csv.encoding %q is not supported: use utf-8", c.Encoding))
	}
	if c.BOM {
		errs = append(errs, errors.New("csv.bom true is not supported: remove it"))
	}
	if c.Newline != "" && c.Newline != "lf" {
		errs = append(errs, fmt.Errorf("csv.newline %q is not supported: use lf", c.Newline))
	}
	if c.Null != "" {
		errs = append(errs, fmt.Errorf("csv.null %q is not supported: NULL is written as an unquoted empty field", c.Null))
	}
	if c.Quote != "" && c.Quote != "minimal" {
		errs = append(errs, fmt.Errorf("csv.quote %q is not supported: use minimal", c.Quote))
	}
	return errors.Join(errs...)
}
