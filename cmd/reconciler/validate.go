package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/config"
)

// Output formats of validate.
const (
	outputText   = "text"
	outputJSON   = "json"
	outputGitHub = "github"
)

func (m *Main) validateCommand() *cobra.Command {
	var strict bool
	var output string
	var files []string
	cmd := &cobra.Command{
		Use:                   "validate [--strict] [--output text|json|github] FILE|DIR...",
		DisableFlagsInUseLine: true,
		Short:                 "Check configuration files against the schema and the semantic rules",
		Long: "Validate reads each FILE (\"-\" reads standard input) and reports every problem it finds, " +
			"not only the first, as FILE:LINE:COL: severity: message (at /json/pointer). " +
			"A valid file prints one line naming its provider and account.\n\n" +
			"A directory stands for its account files: every *.yaml and *.yml in it not starting with a dot " +
			"(subdirectories are not read). Each file is one account, and an account.name used by several files " +
			"is an error at each of them, naming the others.\n\n" +
			"Secrets are references to environment variables or files. A reference that does not resolve " +
			"on this machine is a warning, because CI rarely holds production secrets; --strict makes it an error.\n\n" +
			"The exit status is 0 when every file is valid, 1 when any file is invalid, and 2 when a file " +
			"cannot be read or the command line is wrong.",
		Example: "  reconciler validate horizon.yaml\n" +
			"  reconciler validate --strict --output json horizon.yaml\n" +
			"  reconciler validate --output github accounts/*.yaml\n" +
			"  reconciler validate accounts/",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(files) == 0 {
				return &usageError{message: "validate needs at least one FILE", hint: "reconciler validate horizon.yaml"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != outputText && output != outputJSON && output != outputGitHub {
				return &usageError{message: fmt.Sprintf("--output %q: want text, json or github", output), hint: "reconciler validate --help"}
			}
			return m.validate(cmd.Context(), append(files, args...), config.LoadOptions{Strict: strict, LookupEnv: m.lookupEnv()}, output)
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "Treat secret references that do not resolve here (unset variable, missing file) as errors.")
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "A file or directory to validate, as the arguments; repeatable.")
	cmd.Flags().StringVarP(&output, "output", "o", outputText, "Output format: text (one line per problem), json (an array of problems) or github (workflow annotations).")
	return cmd
}

// result is the outcome of validating one file.
type result struct {
	file  string
	cfg   *config.Config
	diags []config.Diagnostic
	err   error
}

func (m *Main) validate(ctx context.Context, paths []string, opts config.LoadOptions, output string) error {
	var results []result
	seen := map[string]bool{}
	for _, p := range paths {
		files := []string{p}
		if p != "-" && config.IsDir(p) {
			var err error
			if files, err = config.Files([]string{p}); err != nil {
				results = append(results, result{file: p, err: err})
				continue
			}
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			if seen[filepath.Clean(f)] { // a file named twice is one account, not two with one name
				continue
			}
			seen[filepath.Clean(f)] = true
			r := m.validateFile(f, opts)
			m.Logger.Debug("validated", "file", r.file, "diagnostics", len(r.diags), "valid", r.cfg != nil, "error", r.err)
			results = append(results, r)
		}
	}
	duplicateNames(results)
	if err := m.report(results, output); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return outcome(results)
}

func (m *Main) validateFile(file string, opts config.LoadOptions) result {
	if file == "-" {
		data, err := io.ReadAll(io.LimitReader(m.Stdin, config.DefaultMaxSize+1))
		if err != nil {
			return result{file: "<stdin>", err: fmt.Errorf("read standard input: %w", err)}
		}
		cfg, diags := config.Parse("<stdin>", data, opts)
		return result{file: "<stdin>", cfg: cfg, diags: diags}
	}
	cfg, diags, err := config.Load(file, opts)
	return result{file: file, cfg: cfg, diags: diags, err: err}
}

// outcome maps results to errUnreadable (exit 2), errInvalid (exit 1) or nil.
func outcome(results []result) error {
	invalid := false
	for _, r := range results {
		if r.err != nil {
			return errUnreadable
		}
		invalid = invalid || config.HasErrors(r.diags)
	}
	if invalid {
		return errInvalid
	}
	return nil
}

func (m *Main) report(results []result, output string) error {
	if output == outputJSON {
		return m.reportJSON(results)
	}
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(m.Stderr, "reconciler: %v\n", r.err)
			if output == outputGitHub {
				fmt.Fprintf(m.Stdout, "::error file=%s::%s\n", ghProperty(r.file), ghData(r.err.Error()))
			}
			continue
		}
		for _, d := range r.diags {
			if _, err := fmt.Fprintln(m.Stdout, formatDiagnostic(d, output)); err != nil {
				return err
			}
		}
		if r.cfg != nil && !config.HasErrors(r.diags) {
			fmt.Fprintln(m.Stdout, validLine(r))
		}
	}
	return nil
}

func (m *Main) reportJSON(results []result) error {
	all := []config.Diagnostic{}
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(m.Stderr, "reconciler: %v\n", r.err)
		}
		all = append(all, r.diags...)
	}
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(all)
}

// duplicateNames adds to each result whose account.name another result
// uses too an error naming the other files (config.DuplicateNames).
func duplicateNames(results []result) {
	var cfgs []*config.Config
	for _, r := range results {
		if r.cfg != nil {
			cfgs = append(cfgs, r.cfg)
		}
	}
	for _, d := range config.DuplicateNames(cfgs) {
		for i := range results {
			if results[i].cfg != nil && results[i].cfg.File == d.File {
				results[i].diags = config.SortDiagnostics(append(results[i].diags, d))
			}
		}
	}
}

func validLine(r result) string {
	line := fmt.Sprintf("%s: valid (%s, account %s", r.file, r.cfg.Helpdesk.Provider, r.cfg.Account.Name)
	if n := len(r.diags); n == 1 {
		line += "; 1 warning"
	} else if n > 1 {
		line += fmt.Sprintf("; %d warnings", n)
	}
	return line + ")"
}

// formatDiagnostic renders d as text or as a GitHub Actions annotation.
func formatDiagnostic(d config.Diagnostic, output string) string {
	if output != outputGitHub {
		return d.String()
	}
	msg := d.Message
	if d.Pointer != "" {
		msg += " (at " + d.Pointer + ")"
	}
	return fmt.Sprintf("::%s file=%s,line=%d,col=%d::%s", d.Severity, ghProperty(d.File), d.Line, d.Col, ghData(msg))
}

// ghData escapes an annotation message (workflow command data).
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes an annotation property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
