/* Shared by the search page and the agents' console.
   Article and query text only ever reaches the page as text nodes (textContent, append(string)),
   never parsed as HTML, so markup in an article or a query is shown, not run. */
(function () {
  "use strict";

  /* h("a", {href: "/", class: "x"}, "text", child…): an element; strings become text nodes. */
  function h(tag, attrs) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of Array.prototype.slice.call(arguments, 2).flat(Infinity)) {
      if (child !== null && child !== undefined && child !== false) el.append(child);
    }
    return el;
  }

  function escapeRegExp(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  /* text with every occurrence of a term (longest first, any case) in <mark>, as a fragment. */
  function highlight(text, terms) {
    const frag = document.createDocumentFragment();
    const words = Array.from(new Set((terms || []).filter((t) => t && t.trim()))).sort((a, b) => b.length - a.length);
    if (!words.length) {
      frag.append(text);
      return frag;
    }
    const pattern = new RegExp(words.map(escapeRegExp).join("|"), "gi");
    let pos = 0;
    for (const m of text.matchAll(pattern)) {
      frag.append(text.slice(pos, m.index), h("mark", null, m[0]));
      pos = m.index + m[0].length;
    }
    frag.append(text.slice(pos));
    return frag;
  }

  /* text with the characters [start, end) in <mark> (a suggestion's span). */
  function highlightSpan(text, span) {
    const frag = document.createDocumentFragment();
    if (!span) {
      frag.append(text);
      return frag;
    }
    const chars = Array.from(text); // spans count code points, as Python does
    frag.append(chars.slice(0, span[0]).join(""), h("mark", null, chars.slice(span[0], span[1]).join("")), chars.slice(span[1]).join(""));
    return frag;
  }

  const OL = /^(\d{1,3})[.、)）]\s*(.*)$/;
  const UL = /^[-*•·]\s+(.*)$/;

  /* The answer's inline Markdown: **bold** (__bold__ outside words) and links to http(s) addresses only;
     anything else stays text. Mirrors faq_search/answer_markdown.py inline_runs. No lookbehind in these
     patterns: Safari before 16.4 cannot parse one, and the whole script failed there. */
  const LINK = String.raw`\[(?<text>(?:[^\[\]]|\[[^\[\]]*\])+)\]\((?<url>[Hh][Tt][Tt][Pp][Ss]?://[^\s()]+)\)`;
  const STAR = String.raw`\*\*(?<star>\S(?:.*?\S)?)\*\*`;
  const UNDER = String.raw`__(?<under>\S(?:.*?\S)?)__(?![A-Za-z0-9_])`; // and not after WORD_CHAR, checked in code
  const WORD_CHAR = /[A-Za-z0-9_]/;
  const LINK_ONLY = new RegExp(LINK, "g");
  // LINK|STAR|UNDER tried at one place, without the bold that cannot close any more, by [** may close][__ may close]:
  // an opening '**' with no closing one after it scanned to the end of the line (20,000 of them: 0.8 s).
  const INLINE_AT = [[LINK, LINK + "|" + UNDER], [LINK + "|" + STAR, LINK + "|" + STAR + "|" + UNDER]]
    .map((row) => row.map((source) => new RegExp(source, "y")));
  // The character before each place a '**' (a '__') can close bold (overlapping: '****').
  const STAR_CLOSES = /\S(?=\*\*)/g;
  const UNDER_CLOSES = /\S(?=__(?![A-Za-z0-9_]))/g;
  const MARKUP_START = /[[*_]/g;

  // Whether the character before text[at] matches `before` (a one-character class).
  const follows = (text, at, before) => at > 0 && before.test(text[at - 1]);

  /* The matches of LINK|STAR|UNDER (UNDER not after WORD_CHAR) in `line`, as answer_markdown.py
     _inline_matches finds them, in linear time: bold is tried only where a closing mark is still ahead
     (one at c closes an opening at c - 3 or before). Each alternative starts with its own character:
     an UNDER rejected for the one before it leaves no other to match at that place. */
  function* inlineMatches(line) {
    // '.' stops at a line break: the closing marks ahead may not be reachable, so all bold is tried.
    const multiline = line.includes("\n");
    const last = (re) => (multiline ? Infinity : Math.max(-1, ...Array.from(line.matchAll(re), (m) => m.index + 1)) - 3);
    const star = last(STAR_CLOSES);
    const under = last(UNDER_CLOSES);
    let pos = 0;
    for (;;) {
      MARKUP_START.lastIndex = pos;
      const start = MARKUP_START.exec(line);
      if (!start) return;
      const at = start.index;
      const re = INLINE_AT[at <= star ? 1 : 0][at <= under ? 1 : 0];
      re.lastIndex = at;
      const m = re.exec(line);
      if (m && !(m.groups.under !== undefined && follows(line, at, WORD_CHAR))) {
        yield m;
        pos = at + m[0].length;
      } else pos = at + 1;
    }
  }

  /* text.matchAll(pattern) (a global pattern) without the matches right after a character `notAfter`
     matches: the negative lookbehind the server's pattern has, checked in code. */
  function matchesNotAfter(text, pattern, notAfter) {
    const found = [];
    pattern.lastIndex = 0;
    for (let m; (m = pattern.exec(text)); ) {
      const kept = !follows(text, m.index, notAfter);
      if (kept) found.push(m);
      pattern.lastIndex = m.index + (kept && m[0] ? m[0].length : 1);
    }
    return found;
  }

  /* Our hosts written bare (scope.yml `sites`), as answer_markdown.py _site_pattern finds them: not inside
     another host or address, the path without trailing punctuation. Letters spelt in both cases, no "i". */
  const sitePatterns = new Map();
  const NOT_AFTER_SITE = /[A-Za-z0-9.@\/_=?&#%~+-]/;
  function sitePattern(sites) {
    const key = sites.join(" ");
    if (!sitePatterns.has(key)) {
      const anyCase = (site) => Array.from(site, (c) => (/[a-z]/i.test(c) ? "[" + c.toUpperCase() + c.toLowerCase() + "]" : escapeRegExp(c))).join("");
      const hosts = sites.slice().sort((a, b) => b.length - a.length).map(anyCase).join("|");
      sitePatterns.set(key, new RegExp(String.raw`(?<scheme>[Hh][Tt][Tt][Pp][Ss]?://)?` +
        String.raw`(?<host>${hosts})(?<path>/(?:[A-Za-z0-9._~%/?#=&+-]*[A-Za-z0-9_~%/#=&+-])?)?(?![A-Za-z0-9_-]|\.[A-Za-z0-9])`, "g"));
    }
    return sitePatterns.get(key);
  }

  /* A run of text (not a link) with each of our bare addresses in it as a link: https unless written. */
  function siteLinks(run, sites) {
    const out = [];
    let pos = 0;
    for (const m of matchesNotAfter(run.text, sitePattern(sites), NOT_AFTER_SITE)) {
      if (m.index > pos) out.push({ text: run.text.slice(pos, m.index), bold: run.bold, url: "" });
      out.push({ text: m[0], bold: run.bold, url: (m.groups.scheme || "https://") + m.groups.host + (m.groups.path || "") });
      pos = m.index + m[0].length;
    }
    if (pos < run.text.length || !out.length) out.push({ text: run.text.slice(pos), bold: run.bold, url: "" });
    return out;
  }

  /* [{text, bold, url}] of a line, in order (url "" when no link); `sites`: our host names, linked where
     written bare (answer_markdown.py inline_runs). */
  function inlineRuns(line, sites) {
    const runs = markupRuns(line);
    return sites && sites.length ? runs.flatMap((run) => (run.url ? [run] : siteLinks(run, sites))) : runs;
  }

  function markupRuns(line) {
    const runs = [];
    let pos = 0;
    for (const m of inlineMatches(line)) {
      if (m.index > pos) runs.push({ text: line.slice(pos, m.index), bold: false, url: "" });
      if (m.groups.url) runs.push({ text: m.groups.text, bold: false, url: m.groups.url });
      else {
        const inner = m.groups.star !== undefined ? m.groups.star : m.groups.under;
        let at = 0;
        for (const l of inner.matchAll(LINK_ONLY)) {
          if (l.index > at) runs.push({ text: inner.slice(at, l.index), bold: true, url: "" });
          runs.push({ text: l.groups.text, bold: true, url: l.groups.url });
          at = l.index + l[0].length;
        }
        if (at < inner.length || !inner.length) runs.push({ text: inner.slice(at), bold: true, url: "" });
      }
      pos = m.index + m[0].length;
    }
    if (pos < line.length || !runs.length) runs.push({ text: line.slice(pos), bold: false, url: "" });
    return runs;
  }

  /* Our own host names (scope.yml `sites`) and phone numbers and e-mail addresses (those of the channels
     article), which the server puts on <body data-sites data-contacts>. */
  function ownList(name) {
    return (document.body.dataset[name] || "").split(" ").filter(Boolean);
  }

  /* A run of text (not a link) with each of our contacts in it as a tel: or mailto: link, as render.py
     contact_runs: whole numbers and addresses only. */
  const contactPatterns = new Map();
  const NOT_AFTER_CONTACT = /[A-Za-z0-9.@_+-]/;
  function contactRuns(run, contacts) {
    const key = contacts.join(" ");
    if (!contactPatterns.has(key)) {
      const listed = contacts.slice().sort((a, b) => b.length - a.length).map(escapeRegExp).join("|");
      contactPatterns.set(key, new RegExp(String.raw`(?:${listed})(?![A-Za-z0-9_-]|\.[A-Za-z0-9])`, "g"));
    }
    const out = [];
    let pos = 0;
    for (const m of matchesNotAfter(run.text, contactPatterns.get(key), NOT_AFTER_CONTACT)) {
      if (m.index > pos) out.push({ text: run.text.slice(pos, m.index), bold: run.bold, url: "" });
      out.push({ text: m[0], bold: run.bold, url: m[0].includes("@") ? "mailto:" + m[0] : "tel:" + m[0].split("-").join("") });
      pos = m.index + m[0].length;
    }
    if (pos < run.text.length || !out.length) out.push({ text: run.text.slice(pos), bold: run.bold, url: "" });
    return out;
  }

  /* A line of an answer as DOM: bold as <strong>, links opening apart (our bare addresses too), our phone
     numbers and e-mail addresses as tel: and mailto: links, terms highlighted in each. */
  function answerLine(line, terms) {
    const contacts = ownList("contacts");
    const runs = inlineRuns(line, ownList("sites")).flatMap((run) => (contacts.length && !run.url ? contactRuns(run, contacts) : [run]));
    return runs.map((run) => {
      let node = highlight(run.text, terms);
      if (/^(tel|mailto):/.test(run.url)) node = h("a", { href: run.url }, node);
      else if (run.url) node = h("a", { href: run.url, target: "_blank", rel: "noopener noreferrer" }, node);
      return run.bold ? h("strong", null, node) : node;
    });
  }

  /* The answer as text to paste (a chat with a customer): bold as its text, a link as "text URL" with
     whitespace on both sides of the URL, which chat apps would otherwise take with a ")" or the 查看 or 。
     against it. Mirrors faq_search/answer_markdown.py plain_text. */
  function plainAnswer(text) {
    return lines(text).map(plainLine).join("\n");
  }

  /* text's lines where Python's str.splitlines ends them (render.py answer_blocks, the terminal): a \r, a
     U+2028 pasted from a web page, in an answer ended a line on the server and not in the script. */
  const LINE_END = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;
  function lines(text) {
    const out = text.split(LINE_END);
    if (out.length > 1 && out[out.length - 1] === "") out.pop(); // as splitlines: no line after the last end
    return out;
  }

  function plainLine(line) {
    let out = "";
    let afterUrl = false; // what follows a URL starts with a space
    for (const r of inlineRuns(line)) {
      if (!r.url) {
        if (r.text && afterUrl && !/^\s/.test(r.text)) out += " ";
        out += r.text;
        afterUrl = afterUrl && !r.text;
        continue;
      }
      if (r.text.trim() !== r.url) out += (afterUrl ? " " : "") + r.text;
      out += (!out || /\s$/.test(out) ? "" : " ") + r.url;
      afterUrl = true;
    }
    return out;
  }

  /* The answer's Markdown (paragraphs, numbered and bulleted lists, bold, links) as DOM, terms highlighted.
     Mirrors faq_search/web/render.py answer_blocks. */
  function answer(text, terms) {
    const root = h("div", { class: "answer" });
    let block = null;
    let kind = null;
    for (const raw of lines(text)) {
      const line = raw.trim();
      if (!line) {
        block = null;
        continue;
      }
      let m;
      let content = line;
      let next = "p";
      let start = 1;
      if ((m = OL.exec(line))) {
        next = "ol";
        content = m[2];
        start = Number(m[1]);
      } else if ((m = UL.exec(line))) {
        next = "ul";
        content = m[1];
      }
      if (!block || kind !== next) {
        kind = next;
        block = h(next === "p" ? "p" : next, next === "ol" && start !== 1 ? { start: start } : null);
        root.append(block);
      } else if (next === "p") {
        block.append(h("br"));
      }
      if (next === "p") block.append(...answerLine(content, terms));
      else block.append(h("li", null, answerLine(content, terms)));
    }
    return root;
  }

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter; // seconds, from a 429's Retry-After; 0 when not given
    }
  }

  /* A request that fails to reach the server (offline, a dropped connection) is an ApiError with status 0
     and code "network_error"; one with no answer within FAQ.timeoutMs, or `options.timeoutMs` when shorter
     (a stalled connection or proxy), is given up, code "timeout". Aborting `options.signal` still rejects
     with an AbortError. */
  async function request(url, options) {
    const opts = Object.assign({}, options);
    const timeoutMs = Math.min(api.timeoutMs, opts.timeoutMs || Infinity);
    delete opts.timeoutMs;
    const controller = new AbortController();
    const outer = opts.signal;
    const forward = () => controller.abort();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    if (outer) {
      if (outer.aborted) controller.abort();
      else outer.addEventListener("abort", forward);
    }
    try {
      const response = await fetch(url, Object.assign({ headers: { Accept: "application/json" } }, opts, { signal: controller.signal }));
      let body = null;
      try {
        body = await response.json();
      } catch (e) {
        body = null;
      }
      if (controller.signal.aborted) throw new DOMException("aborted", "AbortError"); // while reading the body
      if (!response.ok) {
        const err = (body && body.error) || {};
        const retryAfter = Number(response.headers.get("Retry-After")) || 0;
        throw new ApiError(response.status, err.code || "http_error", err.message || response.statusText, retryAfter);
      }
      if (body && typeof body.index_version === "string") versionListeners.forEach((listener) => listener(body.index_version));
      return body;
    } catch (e) {
      if (timedOut) throw new ApiError(0, "timeout", "no answer within " + timeoutMs + " ms", 0);
      if (e instanceof ApiError || e.name === "AbortError") throw e;
      throw new ApiError(0, "network_error", e.message, 0); // fetch's TypeError: the server was not reached
    } finally {
      clearTimeout(timer);
      if (outer) outer.removeEventListener("abort", forward);
    }
  }

  /* listener(version) is told the index version of each answer the server sends (answers kept in the
     cache are not sent again): what the page shows from an earlier one (the console's filters) can follow. */
  const versionListeners = [];

  function onIndexVersion(listener) {
    versionListeners.push(listener);
  }

  /* A request that did not reach the server while the browser is online (a connection dropped as a worker
     restarts) is made once more, a moment later, before it is said to fail: one such blip is no news to
     the user. Reads only: a vote or a question posted is not sent twice. */
  const REACH_AGAIN_MS = 500;

  async function getJSON(url, signal) {
    try {
      return await request(url, { signal: signal });
    } catch (e) {
      if (!serverUnreachable(e)) throw e;
      await pause(REACH_AGAIN_MS, signal);
      return request(url, { signal: signal });
    }
  }

  // The server not reached while the browser says it is online: the server's side, not the user's network.
  function serverUnreachable(e) {
    return e.code === "network_error" && navigator.onLine;
  }

  // Resolves after ms, or rejects with an AbortError as soon as `signal` is aborted.
  function pause(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal && signal.aborted) throw new DOMException("aborted", "AbortError");
      const timer = setTimeout(resolve, ms);
      if (signal) signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new DOMException("aborted", "AbortError"));
      }, { once: true });
    });
  }

  // Answers already fetched, for a minute: retyping, Back and moving through a list cost no requests
  // (each one counts against the per-client rate limit). None from before the server moved to another
  // index version: an answer an editor corrected would be shown, and copied, as it was. Nor one given
  // unchecked: after VERSION_KNOWN_MS without an answer (which says its version), the version served is
  // asked first (/healthz: no search, no rate limit, ≈ 1 ms), or a question retyped in a quiet moment hid
  // a version published meanwhile. Typing, whose answers keep saying the version, is not slowed.
  const CACHE_MS = 60 * 1000;
  const CACHE_SIZE = 200;
  const VERSION_KNOWN_MS = 2000;
  const VERSION_CHECK_MS = 1000; // a check unanswered this long (a stalled connection) holds the answer no longer
  const cache = new Map();
  let cacheVersion = "";
  let versionHeardAt = -Infinity;
  let versionCheck = null; // the one under way, shared by the kept answers waiting for it
  onIndexVersion((version) => {
    if (version !== cacheVersion) cache.clear();
    cacheVersion = version;
    versionHeardAt = performance.now();
  });

  // Resolves once the server said its version (the listeners told), or could not: a kept answer is then
  // shown as before, rather than an error for what the server would fail to answer anyway.
  function checkVersion() {
    if (!versionCheck) {
      versionCheck = request("/healthz", { timeoutMs: VERSION_CHECK_MS }).then(() => null, () => null).then(() => (versionCheck = null));
    }
    return versionCheck;
  }

  // The index version served now: the one answers last said, asked first when none has for VERSION_KNOWN_MS.
  async function knownVersion() {
    if (performance.now() - versionHeardAt > VERSION_KNOWN_MS) await checkVersion();
    return cacheVersion;
  }

  async function getCachedJSON(url, signal) {
    const fresh = (kept) => kept && performance.now() - kept.at < CACHE_MS;
    if (fresh(cache.get(url)) && performance.now() - versionHeardAt > VERSION_KNOWN_MS) await checkVersion();
    if (signal && signal.aborted) throw new DOMException("aborted", "AbortError");
    const kept = cache.get(url); // gone if the version moved
    if (fresh(kept)) return kept.body;
    const body = await getJSON(url, signal);
    cache.delete(url);
    cache.set(url, { body: body, at: performance.now() });
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value); // the oldest
    return body;
  }

  function postJSON(url, data) {
    return request(url, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(data),
    });
  }

  function query(params) {
    const usp = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value) usp.set(key, value);
    return usp.toString();
  }

  /* A browse list (/api/articles) loaded a page at a time, as both pages keep it in their `state`:
     state.browse (its filters, {category, tag}; null for no browse list), state.items, state.total. */
  const browsing = {
    hasMore(state) {
      return state.browse !== null && state.items.length < state.total;
    },

    // 共 12 篇, or 显示 1–200，共 1234 篇 while more are to load.
    count(state) {
      if (!state.total) return "";
      return (browsing.hasMore(state) ? "显示 1–" + state.items.length + "，" : "") + "共 " + state.total + " 篇";
    },

    loaded(from, state) {
      return "已加载第 " + (from + 1) + "–" + state.items.length + " 篇，共 " + state.total + " 篇";
    },

    // The 更多 button under the list.
    showMore(more, state) {
      more.hidden = !browsing.hasMore(state);
      more.textContent = "更多（还有 " + (state.total - state.items.length) + " 篇）";
    },

    /* The next page appended to state.items (each article `wrap`ped), one load at a time, `more` busy
       meanwhile. Articles added or removed meanwhile shift the pages: none is listed twice, and when
       nothing new comes the list is all there is. The articles added, or null when there is nothing to
       load now or a new search or filter replaced the list meanwhile; other failures are thrown. */
    async loadNext(state, more, limit, wrap) {
      if (!browsing.hasMore(state) || state.loadingMore) return null;
      const seq = state.seq;
      const from = state.items.length;
      state.loadingMore = true;
      more.setAttribute("aria-busy", "true");
      try {
        const body = await getJSON("/api/articles?" + query(Object.assign({}, state.browse, { limit: limit, offset: from })), state.controller.signal);
        if (seq !== state.seq) return null;
        const listed = new Set(state.items.map((item) => item.id));
        const added = body.articles.filter((a) => !listed.has(a.id)).map(wrap);
        state.total = added.length ? body.total : from;
        state.items.push(...added);
        return added;
      } catch (e) {
        if (e.name === "AbortError" || seq !== state.seq) return null;
        throw e;
      } finally {
        state.loadingMore = false;
        more.removeAttribute("aria-busy");
      }
    },
  };

  /* What to tell the user about a failed request, in Chinese: the server's message is for developers. */
  function errorMessage(e, maxChars) {
    if (e.code === "query_too_long") return "问题太长了，请精简到 " + maxChars + " 个字以内。";
    if (e.code === "missing_query") return "请输入你的问题。"; // only invisible characters (a zero-width space)
    if (e.code === "article_not_found") return "没有这篇文章，它可能已被删除或改名。";
    // The page lists the categories and tags of the index it was loaded with; a newer one may lack them.
    if (e.code === "unknown_category") return "这个分类已不存在（帮助内容已更新），请刷新页面。";
    if (e.code === "unknown_tag") return "这个标签已不存在（帮助内容已更新），请刷新页面。";
    if (e.status === 429) {
      return e.retryAfter ? "请求太频繁，请 " + e.retryAfter + " 秒后再试。" : "请求太频繁，请稍候再试。";
    }
    // The browser online and the server not reached: the service's side, not the visitor's network.
    if (serverUnreachable(e)) return "无法连接搜索服务器（本机已联网，问题不在你这边），请稍后再试。";
    // Offline: the visitor's connection, not the service; blaming the service would send them to wait for it.
    if (e.code === "network_error") return "网络连接失败，请检查网络后重试。";
    // No answer in time: the request left (a dead network fails at once, as network_error), the server did not answer.
    if (e.code === "timeout") return unanswered() + "请稍后再试。";
    return "搜索服务暂时不可用，请稍后再试。";
  }

  // The first half of what a request given up at the timeout says: the pages add what happens next.
  function unanswered() {
    return "等了 " + Math.round(api.timeoutMs / 1000) + " 秒，搜索服务器仍没有回应，";
  }

  /* Calls `typed` after each edit of `input`, except while an input method composes: the box holds
     pinyin (zhuancuo) then, not the question (转错); once more when the composition ends. */
  function onTyped(input, typed) {
    let composing = false;
    input.addEventListener("compositionstart", () => (composing = true));
    input.addEventListener("compositionend", () => {
      composing = false;
      typed();
    });
    input.addEventListener("input", (event) => {
      if (!composing && !event.isComposing) typed();
    });
  }

  /* A field's maxlength counts UTF-16 units, in which an emoji or a rare character (outside the BMP) is two;
     the server counts characters (FAQ_MAX_QUERY_CHARS). The page sets maxlength to what data-max-chars
     characters can take, and this cuts what is typed or pasted to that many characters, as maxlength
     would: only the text just put in, never text that was there (a longer question from the URL). */
  function keepWithinChars(field) {
    let before = field.value; // as it was before the edit (or the composition) under way
    let composing = false;
    const cut = () => {
      const limit = Number(field.dataset.maxChars);
      const was = Array.from(before);
      const now = Array.from(field.value);
      if (!limit || !field.hasAttribute("maxlength") || now.length <= limit || now.length <= was.length) return;
      let start = 0;
      while (start < was.length && was[start] === now[start]) start++;
      let end = 0;
      while (end < was.length - start && was[was.length - 1 - end] === now[now.length - 1 - end]) end++;
      const kept = Math.max(limit - (start + end), 0); // of the characters put in, between start and the end kept
      const head = now.slice(0, start + kept).join("");
      field.value = head + now.slice(now.length - end).join("");
      field.setSelectionRange(head.length, head.length);
    };
    field.addEventListener("beforeinput", () => {
      if (!composing) before = field.value;
    });
    field.addEventListener("compositionstart", () => {
      composing = true;
      before = field.value;
    });
    field.addEventListener("compositionend", () => {
      composing = false;
      cut();
    });
    // Callers add this before onTyped's listener, so the search runs on what stays in the box.
    field.addEventListener("input", (event) => {
      if (!composing && !event.isComposing) cut();
    });
  }

  const $ = (id) => document.getElementById(id);

  // timeoutMs: how long a request may take before it is given up (read at each request; a test lowers it).
  const api = { $, h, highlight, highlightSpan, answer, plainAnswer, inlineRuns, contactRuns, getJSON, getCachedJSON, postJSON, query, browsing, ApiError, errorMessage, serverUnreachable, unanswered, onTyped, keepWithinChars,
                onIndexVersion, knownVersion,
                timeoutMs: 15000 };
  window.FAQ = api;
})();
