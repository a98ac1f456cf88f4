package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// maxSecretFileSize bounds how much of a secret file Resolve reads.
const maxSecretFileSize = 64 << 10

// ErrSecretNotFound is returned when the referenced variable or file does
// not exist, or is empty.
var ErrSecretNotFound = errors.New("secret not found")

// SecretRef points at a secret: exactly one of Env (an environment variable
// name) or File (a path; a relative path is relative to the directory of the
// configuration file). It never holds the secret itself, so printing it is
// safe.
type SecretRef struct {
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`

	dir string // directory of the configuration file
}

// String prints the reference, such as env:CW_PRIVATE_KEY or
// file:/run/secrets/cw-private-key.
func (r SecretRef) String() string {
	switch {
	case r.Env != "":
		return "env:" + r.Env
	case r.File != "":
		return "file:" + r.File
	}
	return "<unset>"
}

// IsZero reports whether the reference is empty.
func (r SecretRef) IsZero() bool { return r.Env == "" && r.File == "" }

// Path returns the file path made absolute against the configuration file's
// directory, or "" for an environment reference.
func (r SecretRef) Path() string {
	if r.File == "" || filepath.IsAbs(r.File) || r.dir == "" {
		return r.File
	}
	return filepath.Join(r.dir, r.File)
}

// Resolve reads the secret. Trailing newlines of a file are dropped. Errors
// name the reference, never the value; an absent or empty secret wraps
// ErrSecretNotFound.
func (r SecretRef) Resolve(ctx context.Context) (Secret, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("resolve %s: %w", r, err)
	}
	switch {
	case r.Env != "":
		return r.resolveEnv()
	case r.File != "":
		return r.resolveFile()
	}
	return "", fmt.Errorf("resolve secret: empty reference: %w", ErrSecretNotFound)
}

func (r SecretRef) resolveEnv() (Secret, error) {
	v, ok := os.LookupEnv(r.Env)
	if !ok {
		return "", fmt.Errorf("resolve %s: environment variable %s is not set: %w", r, r.Env, ErrSecretNotFound)
	}
	if v == "" {
		return "", fmt.Errorf("resolve %s: environment variable %s is empty: %w", r, r.Env, ErrSecretNotFound)
	}
	return Secret(v), nil
}

func (r SecretRef) resolveFile() (Secret, error) {
	f, err := os.Open(r.Path())
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("resolve %s: %w", r, ErrSecretNotFound)
	} else if err != nil {
		return "", fmt.Errorf("resolve %s: %w", r, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", r, err)
	}
	if len(data) > maxSecretFileSize {
		return "", fmt.Errorf("resolve %s: file is larger than %d bytes", r, maxSecretFileSize)
	}
	v := strings.TrimRight(string(data), "\r\n")
	if v == "" {
		return "", fmt.Errorf("resolve %s: file is empty: %w", r, ErrSecretNotFound)
	}
	return Secret(v), nil
}

// Secret is a resolved secret value. It prints as <secret> with every fmt
// verb, in JSON and in slog; call Reveal to get the value.
type Secret string

const redacted = "<secret>"

// Reveal returns the secret value. Never log or print it.
func (s Secret) Reveal() string { return string(s) }

// String returns <secret>.
func (s Secret) String() string { return redacted }

// GoString returns <secret>.
func (s Secret) GoString() string { return redacted }

// Format prints <secret> whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalText returns <secret>.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue returns <secret>.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
