package desktop

import (
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
)

func TestInstanceID(t *testing.T) {
	a := InstanceID(appdata.Paths{ModelsDir: "/a/models", DBPath: "/a/chats.db"})
	b := InstanceID(appdata.Paths{ModelsDir: "/b/models", DBPath: "/b/chats.db"})
	if a == b || a != InstanceID(appdata.Paths{ModelsDir: "/a/models", DBPath: "/a/chats.db"}) {
		t.Errorf("ids %s %s", a, b)
	}
	if !strings.HasPrefix(a, "io.github.bitnet-desktop.") {
		t.Errorf("id %s", a)
	}
}
