package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/horizon/reconciler/schema"
)

func (m *Main) schemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of horizon.yaml",
		Long: "Schema prints the JSON Schema (draft 2020-12) built into this binary, the one validate checks against. " +
			"Publish it, or save it next to your files, and point the YAML language server at it with a modeline " +
			"such as \"# yaml-language-server: $schema=horizon.schema.json\" so that editors check the file as you type.",
		Example: "  reconciler schema > horizon.schema.json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := m.Stdout.Write(schema.JSON()); err != nil {
				return fmt.Errorf("write schema: %w", err)
			}
			return nil
		},
	}
}
