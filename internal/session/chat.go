package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/internal/chatstore"
	"github.com/bitnet-desktop/bitnet-desktop/internal/settings"
)

// generation is the answer being generated.
type generation struct {
	convID string
	msgID  string
	model  engine.Model
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the answer is final and stored
}

// dbTimeout bounds the database writes that must happen even when the
// generation was cancelled.
const dbTimeout = 10 * time.Second

// ListConversations returns the conversations, newest first; query
// searches titles and message text.
func (s *Session) ListConversations(query string) ([]chatstore.ConversationSummary, error) {
	return s.chats.ListConversations(s.ctx, query)
}

// CreateConversation makes an empty conversation.
func (s *Session) CreateConversation() (chatstore.Conversation, error) {
	c, err := s.chats.CreateConversation(s.ctx)
	if err == nil {
		s.changed()
	}
	return c, err
}

// GetConversation returns a conversation with its messages.
func (s *Session) GetConversation(id string) (chatstore.Conversation, error) {
	return s.chats.GetConversation(s.ctx, id)
}

// RenameConversation sets a conversation's title.
func (s *Session) RenameConversation(id, title string) error {
	if err := s.chats.RenameConversation(s.ctx, id, title); err != nil {
		return err
	}
	s.changed()
	return nil
}

// DeleteConversation deletes a conversation, stopping its answer first.
func (s *Session) DeleteConversation(id string) error {
	s.stopAndWait(id)
	if err := s.chats.DeleteConversation(s.ctx, id); err != nil {
		return err
	}
	s.changed()
	return nil
}

// SendMessage stores the user's message, starts generating the answer in
// the background and returns the stored message. The answer's message id
// arrives in chat:start. A second call while an answer is generated fails
// with "busy"; a message too long for the context fails with
// context_length_exceeded {tokens, limit} before anything is stored.
func (s *Session) SendMessage(conversationID, text string) (chatstore.Message, error) {
	if strings.TrimSpace(text) == "" {
		return chatstore.Message{}, engine.Errorf(engine.CodeInvalidRequest, nil, "the message is empty")
	}
	if err := s.checkFits(text); err != nil {
		return chatstore.Message{}, err
	}
	g, err := s.beginGeneration(conversationID)
	if err != nil {
		return chatstore.Message{}, err
	}
	user, err := s.chats.AddMessage(s.ctx, conversationID, chatstore.RoleUser, text, chatstore.StatusDone)
	if err != nil {
		s.abortGeneration(g)
		return chatstore.Message{}, err
	}
	s.changed()
	if err := s.startGeneration(g); err != nil {
		return user, err
	}
	return user, nil
}

// CountDraft counts the tokens of a draft message and the most a message
// may have (the context less the system prompt, the chat format and room
// for an answer; older turns are dropped as needed, so the conversation's
// history does not count). conversationID may be "" (a new chat).
func (s *Session) CountDraft(conversationID, text string) (DraftCount, error) {
	m, err := s.measure(text)
	if err != nil {
		return DraftCount{}, err
	}
	return DraftCount{Tokens: m.MessageTokens, Limit: m.MessageLimit, ContextSize: m.ContextSize}, nil
}

// TruncateDraft returns the longest prefix of text (cut between
// characters) that fits the message limit with marker appended, followed
// by marker; text itself when it fits already.
func (s *Session) TruncateDraft(conversationID, text, marker string) (string, error) {
	m, err := s.measure(text)
	if err != nil || m.MessageTokens <= m.MessageLimit {
		return text, err
	}
	runes := []rune(text)
	lo, hi := 0, len(runes) // runes[:lo] + marker fits; runes[:hi+1] + marker does not
	for lo < hi {
		mid := (lo + hi + 1) / 2
		mm, err := s.measure(string(runes[:mid]) + marker)
		if err != nil {
			return "", err
		}
		if mm.MessageTokens <= mm.MessageLimit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return strings.TrimRightFunc(string(runes[:lo]), unicode.IsSpace) + marker, nil
}

// measure measures text as the next message (with the system prompt of
// the settings) on the loaded model.
func (s *Session) measure(text string) (engine.Measure, error) {
	s.mu.Lock()
	m, path, closed := s.model, s.modelPath, s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return engine.Measure{}, engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	case m == nil && path == "":
		return engine.Measure{}, engine.Errorf(CodeNoModel, nil, "no model: download the model or import a GGUF file")
	case m == nil:
		return engine.Measure{}, engine.Errorf(engine.CodeNotLoaded, nil, "the model is not loaded")
	}
	req := buildRequest(s.settings.Get(), []chatstore.Message{{Role: chatstore.RoleUser, Content: text}}, m.Info().Chat)
	return m.Measure(req)
}

// checkFits refuses a message that cannot fit the context.
func (s *Session) checkFits(text string) error {
	m, err := s.measure(text)
	if err != nil {
		return err
	}
	if m.MessageTokens > m.MessageLimit {
		return engine.Errorf(engine.CodeContextExceeded, map[string]any{"tokens": m.MessageTokens, "limit": m.MessageLimit},
			"the message is %d tokens; at most %d fit with the system prompt and room for an answer", m.MessageTokens, m.MessageLimit)
	}
	return nil
}

// StopGeneration cancels the running answer; its text so far is kept
// with status "cancelled".
func (s *Session) StopGeneration() {
	s.mu.Lock()
	if s.gen != nil {
		s.gen.cancel()
	}
	s.mu.Unlock()
}

// Regenerate deletes the last answer of a conversation and generates a
// new one.
func (s *Session) Regenerate(conversationID string) error {
	g, err := s.beginGeneration(conversationID)
	if err != nil {
		return err
	}
	c, err := s.chats.GetConversation(s.ctx, conversationID)
	if err != nil {
		s.abortGeneration(g)
		return err
	}
	if n := len(c.Messages); n > 0 && c.Messages[n-1].Role == chatstore.RoleAssistant {
		if err := s.chats.DeleteMessagesFrom(s.ctx, conversationID, c.Messages[n-1].ID, true); err != nil {
			s.abortGeneration(g)
			return err
		}
		c.Messages = c.Messages[:n-1]
	}
	if !hasUserMessage(c.Messages) {
		s.abortGeneration(g)
		return engine.Errorf(engine.CodeInvalidRequest, nil, "there is no message to answer")
	}
	s.changed()
	return s.startGeneration(g)
}

// EditMessage replaces a user message, deletes every later message and
// generates a new answer.
func (s *Session) EditMessage(conversationID, messageID, text string) error {
	if strings.TrimSpace(text) == "" {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "the message is empty")
	}
	if err := s.checkFits(text); err != nil {
		return err
	}
	g, err := s.beginGeneration(conversationID)
	if err != nil {
		return err
	}
	if _, err := s.chats.EditMessage(s.ctx, conversationID, messageID, text); err != nil {
		s.abortGeneration(g)
		return err
	}
	s.changed()
	return s.startGeneration(g)
}

// ExportConversation renders a conversation ("markdown" or "json"), asks
// where to save it and writes it. It returns the path, or "" if the user
// cancelled.
func (s *Session) ExportConversation(id, format string) (string, error) {
	data, err := s.chats.Export(s.ctx, id, format)
	if err != nil {
		return "", err
	}
	if s.cfg.Dialogs == nil {
		return "", engine.Errorf(engine.CodeInternal, nil, "no dialogs available")
	}
	c, err := s.chats.GetConversation(s.ctx, id)
	if err != nil {
		return "", err
	}
	filter := FileFilter{DisplayName: "Markdown (*.md)", Pattern: "*.md"}
	if format == chatstore.FormatJSON {
		filter = FileFilter{DisplayName: "JSON (*.json)", Pattern: "*.json"}
	}
	path, err := s.cfg.Dialogs.SaveFile(FileDialog{
		Title:       "Export conversation",
		DefaultName: chatstore.FileName(c, format),
		Filters:     []FileFilter{filter},
	})
	if err != nil {
		return "", engine.Wrap(engine.CodeInternal, err, "the file dialog failed")
	}
	if path == "" {
		return "", nil
	}
	if err := writeFileAtomic(path, data); err != nil {
		return "", engine.Wrap(engine.CodeIO, err, "could not write %s", path)
	}
	return path, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func hasUserMessage(ms []chatstore.Message) bool {
	for _, m := range ms {
		if m.Role == chatstore.RoleUser {
			return true
		}
	}
	return false
}

// beginGeneration reserves the generation slot, or fails with busy /
// no_model / model_not_loaded.
func (s *Session) beginGeneration(conversationID string) (*generation, error) {
	s.mu.Lock()
	var err error
	switch {
	case s.closed:
		err = engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	case s.gen != nil:
		err = engine.Errorf(engine.CodeBusy, map[string]any{"conversationId": s.gen.convID}, "an answer is being generated")
	case s.op != nil:
		err = engine.Errorf(engine.CodeNotLoaded, map[string]any{"status": s.statusLocked()}, "the model is loading")
	case s.model == nil && s.modelPath == "":
		err = engine.Errorf(CodeNoModel, nil, "no model: download the model or import a GGUF file")
	case s.model == nil:
		err = engine.Errorf(engine.CodeNotLoaded, nil, "the model is not loaded")
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	g := &generation{convID: conversationID, model: s.model, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	s.gen = g
	s.mu.Unlock()
	s.states.Trigger(true)
	return g, nil
}

// abortGeneration releases the slot of a generation that never started.
func (s *Session) abortGeneration(g *generation) {
	g.cancel()
	s.mu.Lock()
	if s.gen == g {
		s.gen = nil
	}
	s.mu.Unlock()
	close(g.done)
	s.states.Trigger(true)
}

// stopAndWait cancels the running generation (only if it belongs to
// conversationID, unless that is "") and waits until it is stored.
func (s *Session) stopAndWait(conversationID string) {
	s.mu.Lock()
	g := s.gen
	s.mu.Unlock()
	if g == nil || (conversationID != "" && g.convID != conversationID) {
		return
	}
	g.cancel()
	<-g.done
}

// startGeneration creates the (empty, streaming) answer, emits chat:start
// and generates in the background.
func (s *Session) startGeneration(g *generation) error {
	c, err := s.chats.GetConversation(s.ctx, g.convID)
	if err != nil {
		s.abortGeneration(g)
		return err
	}
	s.mu.Lock()
	var id, name string
	chat := true
	if s.info != nil {
		id, name, chat = s.info.ID, s.info.DisplayName, s.info.Chat
	}
	s.mu.Unlock()
	req := buildRequest(s.settings.Get(), c.Messages, chat)
	msg, err := s.chats.AddAnswer(s.ctx, g.convID, chatstore.StatusStreaming, id, name)
	if err != nil {
		s.abortGeneration(g)
		return err
	}
	g.msgID = msg.ID
	s.emit(EventChatStart, ChatStart{ConversationID: g.convID, MessageID: msg.ID, ModelID: id, Model: name})
	if !s.goTrack(func() { s.generate(g, req) }) {
		// Closing: the empty answer stays "streaming" and is marked
		// cancelled at the next start.
		s.abortGeneration(g)
		return engine.Errorf(engine.CodeCancelled, nil, "the app is closing")
	}
	return nil
}

// buildRequest makes the engine request: for a chat model the system
// prompt from the settings, then the conversation (answers that failed
// with nothing to show are left out); for a base model, which completes
// text, the conversation's texts joined into one document to continue.
func buildRequest(set settings.Settings, history []chatstore.Message, chat bool) engine.Request {
	var msgs []engine.Message
	if p := strings.TrimSpace(set.SystemPrompt); p != "" && chat {
		msgs = append(msgs, engine.Message{Role: chatstore.RoleSystem, Content: p})
	}
	for _, m := range history {
		if m.Role == chatstore.RoleAssistant && (m.Status == chatstore.StatusError || m.Status == chatstore.StatusStreaming) && m.Content == "" {
			continue
		}
		msgs = append(msgs, engine.Message{Role: m.Role, Content: m.Content})
	}
	sampling := engine.DefaultSampling()
	sampling.Temperature = float32(set.Temperature)
	sampling.TopP = float32(set.TopP)
	sampling.TopK = set.TopK
	req := engine.Request{Messages: msgs, MaxTokens: set.MaxTokens, Sampling: sampling}
	if !chat {
		var doc strings.Builder
		for i, m := range msgs {
			if i > 0 && m.Role == chatstore.RoleUser {
				doc.WriteString("\n\n")
			}
			doc.WriteString(m.Content)
		}
		req.Messages, req.Raw, req.Prompt = nil, true, doc.String()
	}
	return req
}

// generate runs the engine, streams deltas, stores the answer as it grows
// and when it ends, and releases the generation slot.
func (s *Session) generate(g *generation, req engine.Request) {
	coal := newCoalescer(s.cfg.DeltaInterval, func(seq int, text string) {
		s.emit(EventChatDelta, ChatDelta{ConversationID: g.convID, MessageID: g.msgID, Seq: seq, Text: text})
	})
	var text strings.Builder
	lastPersist := time.Now()
	onToken := func(t engine.Token) {
		if t.Text == "" {
			return
		}
		text.WriteString(t.Text)
		coal.Add(t.Text)
		if now := time.Now(); now.Sub(lastPersist) >= s.cfg.PersistInterval {
			lastPersist = now
			if err := s.chats.UpdateMessage(g.ctx, g.msgID, text.String(), chatstore.StatusStreaming, nil); err != nil &&
				g.ctx.Err() == nil {
				s.log.Warn("store streaming answer", "err", err)
			}
		}
	}
	res, err := g.model.Generate(g.ctx, req, onToken)
	coal.Close()

	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	var stats *chatstore.GenStats
	status := chatstore.StatusDone
	content := text.String()
	switch {
	case err != nil && (errors.Is(err, context.Canceled) || engine.CodeOf(err) == engine.CodeCancelled):
		status = chatstore.StatusCancelled
	case err != nil:
		status = chatstore.StatusError
	default:
		content = res.Text
		st := genStats(res.Stats)
		stats = &st
		if res.Stats.FinishReason == engine.FinishCancelled {
			status = chatstore.StatusCancelled
		}
	}
	if derr := s.chats.UpdateMessage(ctx, g.msgID, content, status, stats); derr != nil {
		s.log.Error("store answer", "err", derr)
	}

	s.mu.Lock()
	if stats != nil && s.model == g.model { // not after an unload
		s.lastStats, s.contextUsed = stats, stats.ContextUsed
	}
	if s.gen == g {
		s.gen = nil
	}
	s.mu.Unlock()
	close(g.done)

	if status == chatstore.StatusError {
		s.log.Error("generate", "err", err)
		s.emit(EventChatError, ChatError{ConversationID: g.convID, MessageID: g.msgID, Error: appError(err)})
	} else {
		done := ChatDone{ConversationID: g.convID, MessageID: g.msgID, Content: content, Status: status}
		if stats != nil {
			done.Stats = *stats
		} else {
			done.Stats.FinishReason = engine.FinishCancelled
		}
		s.emit(EventChatDone, done)
	}
	s.changed()
	s.states.Trigger(true)
}
