package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IsAccountFile reports whether a file in an accounts directory is an
// account file: *.yaml or *.yml, not hidden (editors' and Kubernetes'
// ..data entries start with a dot).
func IsAccountFile(name string) bool {
	base := filepath.Base(name)
	if strings.HasPrefix(base, ".") {
		return false
	}
	ext := filepath.Ext(base)
	return ext == ".yaml" || ext == ".yml"
}

// Files expands paths into account files: a file stands for itself, a
// directory for its account files (not its subdirectories), sorted by
// name. A directory without any is an error, so that a mistyped mount is
// not a fleet of zero accounts.
func Files(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("no config file given")
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("open config: %w", err)
		}
		if !info.IsDir() {
			if !seen[filepath.Clean(p)] {
				seen[filepath.Clean(p)] = true
				out = append(out, p)
			}
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("read config directory: %w", err)
		}
		n := 0
		for _, e := range entries {
			if !IsAccountFile(e.Name()) {
				continue
			}
			full := filepath.Join(p, e.Name())
			if info, err := os.Stat(full); err != nil || info.IsDir() { // follows ConfigMap symlinks
				continue
			}
			n++
			if !seen[filepath.Clean(full)] {
				seen[filepath.Clean(full)] = true
				out = append(out, full)
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("config directory %s holds no *.yaml or *.yml account file", p)
		}
	}
	return out, nil
}

// IsDir reports whether path is a directory (false when it cannot be
// read: Load says why).
func IsDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// Set is the accounts of several files.
type Set struct {
	// Files are the account files, in order.
	Files []string
	// Configs are the valid accounts, in file order; a file that is
	// invalid, or whose account.name an earlier file already uses, has
	// none.
	Configs []*Config
	// Diagnostics are every file's problems, sorted.
	Diagnostics []Diagnostic
}

// Invalid reports whether any file has an error.
func (s *Set) Invalid() bool { return HasErrors(s.Diagnostics) }

// Account returns the valid account called name, or nil.
func (s *Set) Account(name string) *Config {
	for _, c := range s.Configs {
		if c.Account.Name == name {
			return c
		}
	}
	return nil
}

// LoadSet loads every account file of paths (see Files). The error is
// reserved for I/O; invalid files are diagnostics. An account.name used
// by several files is an error at each of them, naming the other; the
// first file keeps the account.
func LoadSet(paths []string, opts LoadOptions) (*Set, error) {
	files, err := Files(paths)
	if err != nil {
		return nil, err
	}
	set := &Set{Files: files}
	var all []*Config
	for _, f := range files {
		cfg, diags, err := Load(f, opts)
		if err != nil {
			return nil, err
		}
		set.Diagnostics = append(set.Diagnostics, diags...)
		if cfg != nil {
			all = append(all, cfg)
		}
	}
	dup := DuplicateNames(all)
	set.Diagnostics = SortDiagnostics(append(set.Diagnostics, dup...))
	for _, c := range all {
		if first := firstWithName(all, c.Account.Name); first == c {
			set.Configs = append(set.Configs, c)
		}
	}
	return set, nil
}

func firstWithName(cfgs []*Config, name string) *Config {
	i := slices.IndexFunc(cfgs, func(c *Config) bool { return c.Account.Name == name })
	return cfgs[i]
}

// DuplicateNames returns an error diagnostic at the account.name of
// every config whose name another config of cfgs uses too, naming where.
func DuplicateNames(cfgs []*Config) []Diagnostic {
	byName := map[string][]*Config{}
	for _, c := range cfgs {
		byName[c.Account.Name] = append(byName[c.Account.Name], c)
	}
	var out []Diagnostic
	for _, c := range cfgs {
		same := byName[c.Account.Name]
		if len(same) < 2 {
			continue
		}
		var others []string
		for _, o := range same {
			if o != c {
				others = append(others, fmt.Sprintf("%s:%d:%d", o.File, o.namePos.line, o.namePos.col))
			}
		}
		msg := fmt.Sprintf("account.name %q is also used by %s: every account file needs its own name", c.Account.Name, strings.Join(others, ", "))
		if c != same[0] {
			msg += fmt.Sprintf(" (%s keeps the account; this file is not run)", same[0].File)
		}
		out = append(out, Diagnostic{File: c.File, Line: c.namePos.line, Col: c.namePos.col, Pointer: "/account/name",
			Severity: SeverityError, Message: msg})
	}
	return out
}
