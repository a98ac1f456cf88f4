// Command reconciler keeps a PSA (ConnectWise Manage, Autotask, Zoho Desk,
// HaloPSA) and Horizon in the state declared by horizon.yaml.
//
// main only maps errors to exit codes; Main.Run does the work, so tests run
// the whole command line in-process with their own streams.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	ExitOK      = 0 // success; every file valid
	ExitInvalid = 1 // a configuration file is invalid, or a plan has errors
	ExitUsage   = 2 // bad command line, or a file could not be read
	ExitFailure = 3 // any other failure
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(err, m.Stderr))
}

// errInvalid reports that validation found errors; they are printed already.
var errInvalid = errors.New("invalid configuration")

// errUnreadable reports that a file could not be read; the reason is printed
// already.
var errUnreadable = errors.New("file could not be read")

// usageError is a command-line mistake, printed with a hint.
type usageError struct {
	message string
	hint    string
}

func (e *usageError) Error() string { return e.message }

// exitCode prints what err needs printed and returns the process exit code.
func exitCode(err error, stderr io.Writer) int {
	var usage *usageError
	var exit *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exit):
		if exit.err != nil && !errors.Is(exit.err, errInvalid) && !errors.Is(exit.err, errUnreadable) {
			fmt.Fprintf(stderr, "reconciler: %v\n", exit.err)
		}
		return exit.code
	case errors.Is(err, errPlanErrors):
		fmt.Fprintln(stderr, "reconciler: the plan has errors: see the items marked [error]")
		return ExitInvalid
	case errors.Is(err, errInvalid):
		return ExitInvalid
	case errors.Is(err, errUnreadable):
		return ExitUsage
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "reconciler: %s\n", usage.message)
		if usage.hint != "" {
			fmt.Fprintf(stderr, "Try: %s\n", usage.hint)
		}
		return ExitUsage
	}
	fmt.Fprintf(stderr, "reconciler: %v\n", err)
	return ExitFailure
}
