package halopsa_test

import (
	"strconv"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk/writetest"
)

func TestWriteback(t *testing.T) {
	writetest.Run(t, func(t *testing.T) writetest.Fixture {
		e := newEnv(t, envOptions{})
		return writetest.Fixture{Provider: e.client, World: e.world, Faults: e.faults,
			ID: func(id int64) string { return strconv.FormatInt(id, 10) }, NoteAuthor: true}
	})
}
