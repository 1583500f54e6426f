// A small syntax highlighter for the diff view: keywords, strings, comments and numbers of common languages,
// chosen by the file's extension. Tokens are plain data; the view renders them as spans (no HTML strings).

export type TokenKind = "keyword" | "string" | "comment" | "number" | "plain";

export interface Token {
  kind: TokenKind;
  text: string;
}

interface Language {
  keywords: Set<string>;
  lineComment: string[];
}

const words = (text: string) => new Set(text.split(/\s+/).filter(Boolean));

const PYTHON: Language = {
  keywords: words(
    "False None True and as assert async await break class continue def del elif else except finally for from " +
      "global if import in is lambda nonlocal not or pass raise return try while with yield match case self",
  ),
  lineComment: ["#"],
};
const C_LIKE: Language = {
  keywords: words(
    "abstract async await break case catch class const continue default delete do else enum export extends false " +
      "finally for from function if implements import in instanceof interface let new null of package private " +
      "protected public return static super switch this throw true try type typeof undefined var void while yield " +
      "fn func go impl mut pub struct use match int char bool string",
  ),
  lineComment: ["//"],
};
const SHELL: Language = {
  keywords: words("if then else elif fi for in do done case esac while until function return export local echo"),
  lineComment: ["#"],
};

const BY_EXTENSION: Record<string, Language> = {
  py: PYTHON,
  pyi: PYTHON,
  js: C_LIKE,
  jsx: C_LIKE,
  mjs: C_LIKE,
  ts: C_LIKE,
  tsx: C_LIKE,
  go: C_LIKE,
  rs: C_LIKE,
  java: C_LIKE,
  c: C_LIKE,
  h: C_LIKE,
  cpp: C_LIKE,
  cs: C_LIKE,
  sh: SHELL,
  bash: SHELL,
};

export function languageFor(path: string): Language | null {
  const extension = path.split(".").pop()?.toLowerCase() ?? "";
  return BY_EXTENSION[extension] ?? null;
}

const TOKEN = /("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`(?:[^`\\]|\\.)*`?)|(\b\d[\d_.xXa-fA-F]*\b)|([A-Za-z_$][\w$]*)|(\s+|.)/g;

/** The tokens of one line of code (without the diff's +/- marker). */
export function highlight(code: string, language: Language | null): Token[] {
  if (language === null) return [{ kind: "plain", text: code }];
  const tokens: Token[] = [];
  const push = (kind: TokenKind, text: string) => {
    const last = tokens[tokens.length - 1];
    if (last && last.kind === kind && kind === "plain") last.text += text;
    else tokens.push({ kind, text });
  };
  TOKEN.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = TOKEN.exec(code)) !== null) {
    const [text, string, number, word] = match;
    const rest = code.slice(match.index);
    const comment = language.lineComment.find((marker) => rest.startsWith(marker));
    if (comment && !string) {
      push("comment", rest);
      break;
    }
    if (string) push("string", string);
    else if (number) push("number", number);
    else if (word) push(language.keywords.has(word) ? "keyword" : "plain", word);
    else push("plain", text);
  }
  return tokens;
}
