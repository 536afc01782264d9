package chatstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// Export formats.
const (
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// Export renders a conversation as Markdown or JSON.
func (s *Store) Export(ctx context.Context, id, format string) ([]byte, error) {
	c, err := s.GetConversation(ctx, id)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatMarkdown, "md":
		return []byte(Markdown(c)), nil
	case FormatJSON:
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return nil, engine.Wrap(engine.CodeInternal, err, "could not encode the conversation")
		}
		return append(b, '\n'), nil
	}
	return nil, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"format": format}, "unknown export format %q", format)
}

// Markdown renders a conversation as a Markdown document.
func Markdown(c Conversation) string {
	var b strings.Builder
	title := c.Title
	if title == "" {
		title = "New chat"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "_Exported from BitNet Desktop. Last updated %s._\n", c.UpdatedAt)
	for _, m := range c.Messages {
		role := map[string]string{RoleSystem: "System", RoleUser: "User", RoleAssistant: "Assistant"}[m.Role]
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", role, strings.TrimRight(m.Content, "\n"))
		switch m.Status {
		case StatusCancelled:
			b.WriteString("\n_(stopped)_\n")
		case StatusError:
			b.WriteString("\n_(error)_\n")
		}
	}
	return b.String()
}

// FileName suggests a file name for an export of c.
func FileName(c Conversation, format string) string {
	name := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(" ._-", r) {
			return r
		}
		return -1
	}, c.Title)
	name = strings.Trim(name, " .")
	name = strings.Join(strings.Fields(name), " ")
	name = truncateRunes(name, 60)
	if name == "" {
		name = "chat"
	}
	if format == FormatJSON {
		return name + ".json"
	}
	return name + ".md"
}
