package session

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The package's locking rule (session.go): s.mu is never held while
// calling out: no file I/O, database, engine, emitter, settings store,
// download manager or API server call happens between s.mu.Lock() and
// s.mu.Unlock(). TestLockRule checks the source for it, so a change that
// breaks the rule fails here rather than as a rare stall of the UI.

// callsOut lists, by their source text, the calls that do I/O or take
// other locks: package functions, and methods on the session's fields.
var callsOut = []string{
	"os.", "appdata.Exists", "appdata.FindModel", "download.New", "download.Inspect", "download.FreeSpace",
	"procmem.", "s.chats.", "s.settings.", "s.cfg.", "s.emit", "s.changed", "s.State", "s.states.",
	"s.dl.", "s.model.", "s.newDownload", "s.downloadSource", "s.LoadModel", "s.applyServer",
	"s.serverRunning", "s.goTrack", "s.stopAndWait", "writeFileAtomic",
}

func TestLockRule(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			c := &lockChecker{t: t, fset: fset, src: src, fn: fd.Name.Name}
			// By convention a function named ...Locked is called with s.mu held.
			c.block(fd.Body.List, strings.HasSuffix(fd.Name.Name, "Locked"))
		}
	}
}

type lockChecker struct {
	t    *testing.T
	fset *token.FileSet
	src  []byte
	fn   string
}

func (c *lockChecker) text(n ast.Node) string {
	return string(c.src[c.fset.Position(n.Pos()).Offset:c.fset.Position(n.End()).Offset])
}

// muCall tells whether stmt is s.mu.Lock() or s.mu.Unlock().
func (c *lockChecker) muCall(e ast.Expr) string {
	if call, ok := e.(*ast.CallExpr); ok {
		switch c.text(call) {
		case "s.mu.Lock()":
			return "lock"
		case "s.mu.Unlock()":
			return "unlock"
		}
	}
	return ""
}

// block scans statements in order and returns whether s.mu is held after
// them. A branch that ends in return does not change the state after it.
func (c *lockChecker) block(stmts []ast.Stmt, locked bool) bool {
	for _, st := range stmts {
		locked = c.stmt(st, locked)
	}
	return locked
}

func returns(stmts []ast.Stmt) bool {
	if len(stmts) == 0 {
		return false
	}
	switch s := stmts[len(stmts)-1].(type) {
	case *ast.ReturnStmt, *ast.BranchStmt:
		return true
	case *ast.ExprStmt:
		if call, ok := s.X.(*ast.CallExpr); ok {
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "panic" {
				return true
			}
		}
	}
	return false
}

func (c *lockChecker) branch(stmts []ast.Stmt, locked bool) (after bool, counts bool) {
	after = c.block(stmts, locked)
	return after, !returns(stmts)
}

func (c *lockChecker) stmt(st ast.Stmt, locked bool) bool {
	switch s := st.(type) {
	case *ast.ExprStmt:
		switch c.muCall(s.X) {
		case "lock":
			return true
		case "unlock":
			return false
		}
		c.exprs(locked, s.X)
	case *ast.DeferStmt:
		if c.muCall(s.Call) == "unlock" {
			return locked // held until the function returns
		}
		c.exprs(false, s.Call) // runs at return
	case *ast.BlockStmt:
		if after, counts := c.branch(s.List, locked); counts {
			return after
		}
	case *ast.IfStmt:
		if s.Init != nil {
			locked = c.stmt(s.Init, locked)
		}
		c.exprs(locked, s.Cond)
		out := locked
		if after, counts := c.branch(s.Body.List, locked); counts {
			out = after
		}
		if s.Else != nil {
			if after := c.stmt(s.Else, locked); !returnsStmt(s.Else) {
				out = after
			}
		}
		return out
	case *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
		var body *ast.BlockStmt
		switch s := s.(type) {
		case *ast.SwitchStmt:
			if s.Init != nil {
				locked = c.stmt(s.Init, locked)
			}
			if s.Tag != nil {
				c.exprs(locked, s.Tag)
			}
			body = s.Body
		case *ast.TypeSwitchStmt:
			body = s.Body
		case *ast.SelectStmt:
			body = s.Body
		}
		out := locked
		for _, cl := range body.List {
			var list []ast.Stmt
			switch cc := cl.(type) {
			case *ast.CaseClause:
				c.exprs(locked, cc.List...)
				list = cc.Body
			case *ast.CommClause:
				list = cc.Body
			}
			if after, counts := c.branch(list, locked); counts {
				out = after
			}
		}
		return out
	case *ast.ForStmt:
		c.block(s.Body.List, locked)
	case *ast.RangeStmt:
		c.exprs(locked, s.X)
		c.block(s.Body.List, locked)
	case *ast.GoStmt:
		c.exprs(false, s.Call)
	default:
		ast.Inspect(st, func(n ast.Node) bool {
			if e, ok := n.(ast.Expr); ok {
				c.exprs(locked, e)
				return false
			}
			return true
		})
	}
	return locked
}

func returnsStmt(s ast.Stmt) bool {
	if b, ok := s.(*ast.BlockStmt); ok {
		return returns(b.List)
	}
	return false
}

// exprs reports calls out made while locked. Function literals run later:
// they are checked as functions of their own, starting unlocked.
func (c *lockChecker) exprs(locked bool, es ...ast.Expr) {
	for _, e := range es {
		ast.Inspect(e, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				sub := *c
				sub.fn += " (func literal)"
				sub.block(n.Body.List, false)
				return false
			case *ast.CallExpr:
				if !locked {
					return true
				}
				fun := c.text(n.Fun)
				for _, p := range callsOut {
					if strings.HasPrefix(fun, p) {
						c.t.Errorf("%s: %s calls %s while holding s.mu", c.fset.Position(n.Pos()), c.fn, fun)
						break
					}
				}
			}
			return true
		})
	}
}
