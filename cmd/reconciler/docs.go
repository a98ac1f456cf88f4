package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/schema"
)

func (m *Main) docsCommand() *cobra.Command {
	docs := &cobra.Command{
		Use:   "docs",
		Short: "Generate documentation",
		Long:  "Docs generates the documentation that is derived from code, so that it cannot go stale.",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var out string
	cfg := &cobra.Command{
		Use:   "config",
		Short: "Print the configuration reference in Markdown",
		Long: "Config prints the configuration reference (docs/config.md): one table per section of horizon.yaml, " +
			"generated from the JSON Schema, then the provider capabilities and the checks the schema cannot express. " +
			"Run go generate ./schema after changing either.",
		Example: "  reconciler docs config --out docs/config.md",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.writeConfigDocs(out)
		},
	}
	cfg.Flags().StringVar(&out, "out", "", "Write to this file instead of standard output.")
	docs.AddCommand(cfg)
	return docs
}

// configReference renders docs/config.md.
func configReference() ([]byte, error) {
	var b bytes.Buffer
	if err := schema.Markdown(&b); err != nil {
		return nil, err
	}
	if err := config.WriteReference(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (m *Main) writeConfigDocs(out string) error {
	doc, err := configReference()
	if err != nil {
		return err
	}
	if out == "" {
		_, err = m.Stdout.Write(doc)
		return err
	}
	if err := os.WriteFile(out, doc, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
