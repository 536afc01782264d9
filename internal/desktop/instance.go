package desktop

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
)

// InstanceID names the single-instance lock: one per data folder, so that
// test runs with BITNET_DATA_DIR do not collide with the user's app.
func InstanceID(p appdata.Paths) string {
	sum := sha256.Sum256([]byte(p.ModelsDir + "\x00" + p.DBPath))
	return "io.github.bitnet-desktop." + hex.EncodeToString(sum[:6])
}
