/* The self-service search page: answers as you type, suggestions, filters, feedback.
   Progressive enhancement of the server-rendered page; every request goes to the JSON API. */
(function () {
  "use strict";
  const { $, h, highlight, highlightSpan, answer, getJSON, getCachedJSON, postJSON, query, browsing, errorMessage, onTyped, keepWithinChars } = window.FAQ;

  const DEBOUNCE_MS = 60; // results land well within ~150 ms of the last keystroke
  const SLOW_MS = 700; // a search unanswered this long is said to be under way (正在搜索…)
  const SETTLE_MS = 800; // what typing brings is said once typing pauses this long
  const SEARCHING = "正在搜索…";
  const SUGGEST_MAX_CHARS = 30; // longer input is a sentence, not a prefix

  const form = $("search-form");
  const input = $("q");
  const clearButton = $("clear");
  const listbox = $("suggestions");
  const chips = $("chips");
  const main = $("main");
  const popular = $("popular");
  const browse = $("browse");
  const browseName = $("browse-name");
  const browseCountText = $("browse-count");
  const browseList = $("browse-list");
  const more = $("browse-more");
  const didYouMean = $("did-you-mean");
  const didYouMeanList = $("did-you-mean-list");
  const status = $("status");
  const noAnswer = $("no-answer");
  const noAnswerHint = $("no-answer-hint");
  const noAnswerFilter = $("no-answer-filter");
  const askForm = $("ask-form");
  const results = $("results");
  const hitsList = $("hits");
  const hint = $("search-hint");
  const maybeTitle = $("maybe-title");
  const lengthHint = $("length-hint");
  const categoryField = $("category-field");
  if (categoryField) categoryField.remove(); // the category is kept in `state` from now on

  const categoryNames = {};
  if (chips) for (const chip of chips.querySelectorAll(".chip")) categoryNames[chip.dataset.category] = chip.textContent.trim();
  const current = chips && chips.querySelector('.chip[aria-current="true"]');

  const state = {
    category: (current && current.dataset.category) || "",
    seq: 0, // newest request; older answers are dropped
    timer: 0,
    controller: null,
    suggestions: [],
    active: -1,
    typedAt: 0,
    shown: null,
    barren: null, // {text, category}: typed text /api/suggest had no completions for
    // The filter of a browse list ({category}; null for none), whose `total` articles come a page at a time.
    browse: null,
    items: [], // the browse list's articles loaded so far
    total: 0,
    loadingMore: false,
    pending: false, // a search under way: what shows is the previous one's (aria-busy)
    slowTimer: 0,
    typing: false, // the search under way was set off by typing, not by a deliberate act
    tellTimer: 0,
    told: null, // the status line's write held until typing pauses
    sentence: ["", {}], // what the status line says of what is shown
  };

  document.documentElement.classList.add("js");
  askForm.noValidate = true; // the script checks the fields itself, in the page's words (askProblem)
  // Without this script the box is a plain search field; with it, a combobox with completions and keys.
  const combobox = { role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": "suggestions" };
  for (const [name, value] of Object.entries(combobox)) input.setAttribute(name, value);
  hint.textContent = hint.dataset.live;

  // --- running a search ---------------------------------------------------------------------

  // maxlength drops whatever is typed or pasted beyond it without a word; say so. Longer text came from
  // the URL: nothing was dropped, and the search's error says it is too long.
  function noteLength() {
    const limit = Number(input.dataset.maxChars);
    lengthHint.textContent = Array.from(input.value).length === limit ? "已达到 " + limit + " 字上限，多出的文字没有输入，请精简问题。" : "";
  }

  function schedule() {
    clearButton.hidden = !input.value;
    state.typedAt = performance.now();
    clearTimeout(state.timer);
    state.timer = setTimeout(() => run({ suggest: true, history: "typing" }), input.value.trim() ? DEBOUNCE_MS : 0);
  }

  async function run(options) {
    const opts = options || {};
    clearTimeout(state.timer);
    noteLength();
    const q = input.value.trim();
    const key = q + "\u0000" + state.category;
    state.typing = opts.history === "typing";
    if (key === state.shown && !opts.force) {
      if (state.pending) {
        // Back to what is shown while a search for other text was under way: that one is dropped.
        state.seq++;
        state.controller.abort();
        setPending(false);
        syncUrl(q, opts.history || "push");
        announce(...state.sentence);
      } else if (!opts.suggest) {
        // Enter on what typing shows keeps it: its entry is typing's no longer, so the next question
        // typed gets one of its own and Back returns here.
        syncUrl(q, opts.history || "push");
      }
      if (!opts.suggest) {
        closeSuggestions();
        if (state.told) state.told(); // Enter: what typing brought is said now
      }
      return;
    }
    const seq = ++state.seq;
    if (state.controller) state.controller.abort();
    state.controller = new AbortController();
    const signal = state.controller.signal;
    syncUrl(q, opts.history || "push");
    if (!opts.upgrade) setPending(true);
    if (!q) {
      closeSuggestions();
      await showHome(seq, signal);
      state.shown = key;
      main.dataset.query = "";
      return;
    }
    const wantSuggest = opts.suggest && document.activeElement === input && Array.from(q).length <= SUGGEST_MAX_CHARS;
    const category = state.category;
    try {
      const [found, suggested] = await Promise.all([
        getCachedJSON("/api/search?" + query({ q: q, k: 10, category: category }), signal),
        mayHaveSuggestions(q, category)
          ? getCachedJSON("/api/suggest?" + query({ q: q, category: category }), signal).catch((e) => {
              if (e.name === "AbortError") throw e;
              return null;
            })
          : { suggestions: [] },
      ]);
      if (suggested && suggested.suggestions.length === 0) state.barren = { text: q, category: category };
      if (seq !== state.seq) return;
      setPending(false);
      showResults(q, found, (suggested && suggested.suggestions) || [], opts.upgrade);
      if (wantSuggest && document.activeElement === input) renderSuggestions((suggested && suggested.suggestions) || []);
      else closeSuggestions();
      state.shown = key;
      main.dataset.query = q; // what the page shows now (the box may already hold more)
      if (state.typedAt) main.dataset.latencyMs = String(Math.round(performance.now() - state.typedAt));
    } catch (e) {
      if (e.name === "AbortError" || seq !== state.seq) return;
      setPending(false);
      if (!opts.upgrade) showError(e); // the server's answers stay, without their votes
    }
  }

  // A search under way: what shows is the previous answer. It is marked busy at once (dimmed soon after,
  // style.css) and, once the wait is noticeable, said to be searching: once, however many keys are typed
  // meanwhile. A request that hangs is given up after FAQ.timeoutMs (common.js), said as an error.
  function setPending(on) {
    if (on === state.pending) return;
    state.pending = on;
    clearTimeout(state.slowTimer);
    for (const part of [popular, browse, didYouMean, noAnswer, results]) {
      if (on) part.setAttribute("aria-busy", "true");
      else part.removeAttribute("aria-busy");
    }
    if (on) state.slowTimer = setTimeout(() => announce(SEARCHING, { shown: true }), SLOW_MS);
  }

  // The status line (a polite live region) says `text`: shown or only read out, as an error or not. A screen
  // reader queues every write, so what typing brings is written once typing pauses, and only when it
  // changed; a deliberate act (Enter, a completion, a link, a chip, Back) is answered at once, and so is
  // a search that was said to be under way.
  function announce(text, how) {
    const o = Object.assign({ error: false, shown: false }, how);
    if (text !== SEARCHING) state.sentence = [text, o];
    clearTimeout(state.tellTimer);
    const write = () => {
      state.told = null;
      status.classList.toggle("status-error", o.error);
      status.classList.toggle("visually-hidden", !o.shown);
      if (status.textContent !== text) status.textContent = text;
    };
    const wait = state.typing && status.textContent !== SEARCHING ? state.typedAt + SETTLE_MS - performance.now() : 0;
    if (wait > 0) {
      // Meanwhile it says nothing rather than what it said of the answers just replaced (a write of
      // nothing is not read out); the same words stay, as they are still true.
      if (status.textContent !== text) status.textContent = "";
      state.told = write;
      state.tellTimer = setTimeout(write, wait);
    } else {
      write();
    }
  }

  // Completions are phrases that contain the typed text (as text or pinyin), so text that extends one
  // without completions has none either; saves one request a keystroke once the question is unusual.
  // Not for one letter (matched at phrase starts only), nor when letters join text without any
  // (they are read as pinyin then).
  function mayHaveSuggestions(q, category) {
    const barren = state.barren;
    if (!barren || barren.category !== category || !q.startsWith(barren.text) || Array.from(barren.text).length < 2) return true;
    const letters = /[a-z\uff21-\uff3a\uff41-\uff5a]/i;
    return !letters.test(barren.text) && letters.test(q);
  }

  // A deliberate search ("push": Enter, a suggestion, a link, a chip) gets its own history entry, so Back
  // returns to the answer before it; typing edits one entry of its own ("typing"); "none" is for Back itself.
  function syncUrl(q, mode) {
    const named = q || (state.category && (categoryNames[state.category] || state.category)); // a category's list
    document.title = (named ? named + " - " : "") + "易钱包帮助中心";
    // A chip opened in a new tab (not handled here) filters what is shown now, not what was loaded.
    if (chips) {
      for (const chip of chips.querySelectorAll(".chip")) {
        const params = query({ q: q, category: chip.dataset.category });
        chip.href = params ? "/?" + params : "/";
      }
    }
    if (mode === "none") return;
    const params = query({ q: q, category: state.category });
    const url = params ? "/?" + params : "/";
    const typing = mode === "typing";
    const here = url === location.pathname + location.search;
    if (here || (typing && history.state && history.state.typing)) history.replaceState({ typing: typing }, "", url);
    else history.pushState({ typing: typing }, "", url);
  }

  function markChip(category) {
    if (!chips) return;
    for (const c of chips.querySelectorAll(".chip")) {
      if (c.dataset.category === category) c.setAttribute("aria-current", "true");
      else c.removeAttribute("aria-current");
    }
  }

  // Empties the results area (hits, "maybe related", no-answer, did-you-mean) and shows `message`.
  function resetResults(message, isError) {
    homeAskForm();
    document.body.classList.remove("showing-no-answer");
    hitsList.replaceChildren();
    results.hidden = true; // no empty 搜索结果 for screen readers to land on
    maybeTitle.hidden = true;
    noAnswer.hidden = true;
    didYouMean.hidden = true;
    announce(message, { error: isError, shown: true });
  }

  // Said where the answers would be: not under the popular questions or a category's list, which would
  // read as the answer to what was typed and push the error out of sight on a phone.
  function showError(e) {
    popular.hidden = true;
    browse.hidden = true;
    state.browse = null;
    resetResults(errorMessage(e, main.dataset.maxChars), true);
  }

  async function showHome(seq, signal) {
    resetResults("", false);
    state.browse = null; // until the new list is in
    if (!state.category) {
      setPending(false);
      browse.hidden = true;
      popular.hidden = false;
      return;
    }
    popular.hidden = true;
    try {
      const body = await getJSON("/api/articles?" + query({ category: state.category, limit: pageSize() }), signal);
      if (seq !== state.seq) return;
      setPending(false);
      state.browse = { category: state.category };
      state.items = body.articles;
      state.total = body.total;
      const name = categoryNames[state.category] || state.category;
      browseName.textContent = name;
      browseList.replaceChildren(...body.articles.map(browseItem));
      showMore();
      browse.hidden = false;
      announce(name + "：" + browsing.count(state)); // the list's heading shows it
    } catch (e) {
      if (e.name === "AbortError" || seq !== state.seq) return;
      setPending(false);
      showError(e);
    }
  }

  // --- a browse list's further pages ---------------------------------------------------------------

  // Read at each load, not once: the server sets it (pages.SEARCH_PAGE_SIZE), a test lowers it.
  function pageSize() {
    return Number(main.dataset.pageSize) || 100;
  }

  // Its place among all, not only among those loaded, is what a screen reader says of an item.
  function browseItem(a, i) {
    return h("li", { "aria-setsize": state.total, "aria-posinset": i + 1 }, questionLink(a.question, state.browse.category));
  }

  function showMore() {
    browseCountText.textContent = browsing.count(state);
    browsing.showMore(more, state);
  }

  // The next page appended. The focus on 更多, which may go with the last page, moves to the first article
  // it added: reading goes on there; the status says what came.
  async function loadMore() {
    const from = state.items.length;
    let added;
    try {
      added = await browsing.loadNext(state, more, pageSize(), (a) => a);
    } catch (e) {
      // Said under the list; the list and 更多, to try again, stay.
      announce(errorMessage(e, main.dataset.maxChars), { error: true, shown: true });
      return;
    }
    if (!added) return;
    browseList.append(...added.map((a, i) => browseItem(a, from + i)));
    browseList.querySelectorAll("li").forEach((li) => li.setAttribute("aria-setsize", state.total));
    const focused = document.activeElement;
    showMore();
    const next = browseList.children[Math.min(from, state.items.length - 1)];
    if (next && (focused === more || focused === document.body)) next.querySelector("a").focus();
    announce(added.length ? browsing.loaded(from, state) : "");
  }

  // `category`: the filter the link keeps (browsing a category, completions within it); without one the
  // link searches every category, as the server-rendered links do.
  function questionLink(question, category) {
    return h("a", { href: "/?" + query({ q: question, category: category }), "data-question": question }, question);
  }

  function showResults(q, body, suggestions, upgrade) {
    const found = body.results;
    const otherProduct = body.other_product;
    popular.hidden = true;
    browse.hidden = true;
    state.browse = null;
    const confident = found.length > 0 && found[0].confident;
    homeAskForm();
    showHits(q, found, confident, upgrade);
    results.hidden = found.length === 0;
    maybeTitle.hidden = confident || found.length === 0;
    // Half-typed pinyin ("mim") is not read as words yet; the completions are the answer then.
    const guesses = confident ? [] : suggestions;
    didYouMean.hidden = guesses.length === 0;
    didYouMeanList.replaceChildren(...guesses.map((s) => h("li", null, questionLink(s.question, state.category))));
    const pinyin = /[a-z]/i.test(q) && guesses.length > 0;
    // One character is too little to say there is no answer while anything was found for it, but with
    // nothing at all (an emoji, 嗯) the page would say nothing; a lone letter may begin pinyin.
    const nothing = found.length === 0 && guesses.length === 0 && !/^[a-z]$/i.test(q);
    const none = !confident && (Array.from(q).length >= 2 || nothing) && !pinyin;
    noAnswer.hidden = !none;
    // A question about another product (corpus/scope.yml) is told so, not asked to rephrase.
    // Others' business asked in our words (scope.yml's ask) names whom to ask instead.
    noAnswerHint.textContent = otherProduct
      ? (body.other_product_ask ? noAnswerHint.dataset.otherAsk.split("{ask}").join(body.other_product_ask) : noAnswerHint.dataset.otherProduct)
          .split("{product}").join(otherProduct)
      : noAnswerHint.dataset.general;
    // Searched within a chip: the answer may be in another category; a link searches them all.
    noAnswerFilter.hidden = !state.category;
    if (state.category) {
      $("no-answer-category").textContent = categoryNames[state.category] || state.category;
      const all = $("no-answer-all");
      all.href = "/?" + query({ q: q });
      all.dataset.question = q;
    }
    document.body.classList.toggle("showing-no-answer", none); // the footer need not repeat the channels
    // The server's form, shown before this script came (a slow network), may hold what the visitor wrote since.
    if (none && !(upgrade && askFields.some((field) => field.value !== field.defaultValue))) resetAskForm(q);
    const told = none
      ? ["没有找到匹配的答案"]
      : [guesses.length ? "你是不是想问：" + guesses.length + " 个问题" : "", found.length ? found.length + " 个可能相关的问题" : ""];
    // Short of an answer the headings below say it; screen readers hear it here.
    announce(confident ? "找到 " + found.length + " 个相关答案" : told.filter(Boolean).join("；"), { shown: confident });
  }

  // The hits. The list the server rendered for this search (`upgrade`), which the visitor may be reading
  // already (the focus in it, answers opened), is kept when the API lists the same articles: only the votes
  // are added. Otherwise the new list keeps, by article, what was open and where the focus was.
  function showHits(q, found, confident, upgrade) {
    const before = Array.from(hitsList.children);
    if (upgrade && before.map((li) => li.dataset.id).join("\n") === found.map((r) => r.id).join("\n")) {
      // The script's vote buttons in place of the server's form (for pages without this script); a button of it
      // the visitor reached meanwhile passes its focus on, not to <body>.
      before.forEach((li, i) => {
        const served = li.querySelector(".feedback-form");
        const box = feedback(q, found[i].id, found[i].aliases || []);
        const pressing = served.contains(document.activeElement) && document.activeElement.value;
        served.replaceWith(box);
        if (pressing) (box.querySelector("[data-helpful=" + pressing + "]:enabled") || box.querySelector(".feedback-result")).focus();
      });
      return;
    }
    let open = (r, i) => i === 0 && confident; // the best answer
    let focused = null;
    if (upgrade) {
      const known = new Set(before.map((li) => li.dataset.id));
      const opened = new Set(before.filter((li) => li.querySelector("details").open).map((li) => li.dataset.id));
      open = (r, i) => opened.has(r.id) || (i === 0 && confident && !known.has(r.id));
      focused = document.activeElement && document.activeElement.closest("#hits > li");
    }
    hitsList.replaceChildren(...found.map((r, i) => hitItem(q, r, i, open(r, i))));
    if (focused) {
      const same = Array.from(hitsList.children).find((li) => li.dataset.id === focused.dataset.id);
      if (same) same.querySelector("summary").focus();
      else focusAnswer();
    }
  }

  /* What to highlight in the matched phrasing: the query words found in it, and the synonyms and words read
     from pinyin found there for others. Elsewhere (the question, the answer): every query word found, every
     synonym found and every word read. */
  function foundWords(r, where) {
    const synonyms = r.synonyms || [];
    const readAs = r.read_as || [];
    if (where === "matched") {
      return r.matched_terms.concat(synonyms.filter((s) => s.in === "matched").map((s) => s.matched),
        readAs.filter((s) => s.in === "matched").map((s) => s.read));
    }
    return r.matched_terms.concat(r.answer_terms || [], synonyms.flatMap((s) => [s.query, s.matched]), readAs.map((s) => s.read));
  }

  /* 答案中出现：…, 同义词：A → B and 拼音：daozhang → 到账, as the server renders them (_macros.html hit_item). */
  function whyLines(r) {
    const answerTerms = r.answer_terms || [];
    const synonyms = r.synonyms || [];
    const readAs = r.read_as || [];
    return [
      answerTerms.length ? h("p", { class: "hit-matched hit-answer-terms" }, "答案中出现：", answerTerms.join("、")) : null,
      synonyms.length ? h("p", { class: "hit-matched hit-synonyms" }, "同义词：", synonyms.map((s) => s.query + " → " + s.matched).join("、")) : null,
      readAs.length ? h("p", { class: "hit-matched hit-read-as" }, "拼音：", readAs.map((s) => s.query + " → " + s.read).join("、")) : null,
    ];
  }

  function hitItem(q, r, index, open) {
    const words = foundWords(r);
    const summary = h(
      "summary",
      { class: "hit-summary", id: "hit-" + index },
      h("span", { class: "hit-question" }, highlight(r.question, words)),
      h("span", { class: "visually-hidden" }, "，分类："), // the summary's name is not one run of text
      h("span", { class: "hit-category" }, categoryNames[r.category] || r.category)
    );
    const body = h(
      "div",
      { class: "hit-body", id: "answer-" + r.id }, // the no-JavaScript vote's way back (pages.vote) anchors it
      r.matched !== r.question ? h("p", { class: "hit-matched" }, "匹配到：“", highlight(r.matched, foundWords(r, "matched")), "”") : null,
      whyLines(r),
      answer(r.answer, words),
      r.related && r.related.length
        ? h("div", { class: "related" }, h("h3", { class: "related-title" }, "相关问题"),
            h("ul", { class: "related-list" }, r.related.map((x) => h("li", null, questionLink(x.question)))))
        : null,
      feedback(q, r.id, r.aliases || [])
    );
    return h("li", { class: "hit" + (r.confident ? "" : " hit-weak"), "data-id": r.id },
      h("details", { class: "hit-details", open: open }, summary, body));
  }

  // --- feedback and left questions ---------------------------------------------------------------

  // One vote per article from this browser: searching again must not offer the buttons again.
  const VOTES_KEY = "faq-votes";

  function votes() {
    try {
      return JSON.parse(localStorage.getItem(VOTES_KEY)) || {};
    } catch (e) {
      return {}; // storage blocked or garbled: votes are not remembered
    }
  }

  function rememberVote(articleId, helpful) {
    try {
      localStorage.setItem(VOTES_KEY, JSON.stringify(Object.assign(votes(), { [articleId]: helpful })));
    } catch (e) {
      /* storage blocked: nothing to remember with */
    }
  }

  // A result line (a polite status) says `content`; a failure there is an alert instead, told by more than
  // its colour: an icon and its words. The line is silent meanwhile, so the failure is said once.
  function say(out, failed, ...content) {
    out.setAttribute("aria-live", failed ? "off" : "polite");
    out.replaceChildren(...(failed ? [h("span", { class: "failure", role: "alert" }, h("span", { class: "failure-icon", "aria-hidden": "true" }, "!"), content)] : content));
    return out;
  }

  /* Votes the server has not received (not reached: down, restarting, offline, or no answer in time), by
     article id: never dropped, each sent again by itself after VOTE_RETRY_S (offline: once back online),
     and said to be on its way meanwhile, in the box of a search shown again too. Safe to send twice: the
     server counts one vote per article and client. unsent.get(id): {body, view}, view the box showing it. */
  const unsent = new Map();
  const VOTE_RETRY_S = [2, 5, 10, 30];

  // `what` (反馈, 问题) not received yet, and that it is on its way.
  function unsentMessage(what) {
    return what + (navigator.onLine ? "还没有发出：暂时连不上服务器，会自动重新发送。" : "还没有发出：本机网络已断开，恢复联网后会自动发送。");
  }

  // Calls `again` (a send repeated `retry` times in a row, 1: the first time again) after its wait, or once online.
  function resend(again, retry) {
    if (navigator.onLine) setTimeout(again, VOTE_RETRY_S[Math.min(retry - 1, VOTE_RETRY_S.length - 1)] * 1000);
    else window.addEventListener("online", again, { once: true });
  }

  async function sendVote(id, retry) {
    const vote = unsent.get(id);
    try {
      await postJSON("/api/feedback", vote.body);
    } catch (e) {
      if (e.status === 0) {
        vote.view.unsent();
        resend(() => sendVote(id, retry + 1), retry + 1);
      } else {
        unsent.delete(id);
        vote.view.failed(e);
      }
      return;
    }
    unsent.delete(id);
    rememberVote(id, vote.body.helpful);
    vote.view.sent(retry > 0);
  }

  function feedback(q, articleId, formerIds) {
    const yes = h("button", { type: "button", class: "feedback-button", "data-helpful": "true" }, "有");
    const no = h("button", { type: "button", class: "feedback-button", "data-helpful": "false" }, "没有");
    const result = h("span", { class: "feedback-result", role: "status", tabindex: "-1" });
    const box = h("div", { class: "feedback", role: "group", "aria-label": "这个回答有帮助吗？" },
      h("span", { class: "feedback-question" }, "这个回答有帮助吗？"), yes, no, result);
    // A vote given before the article was renamed counts for it (the server counts it too).
    const remembered = votes();
    const given = [articleId, ...formerIds].map((id) => remembered[id]).find((v) => v !== undefined);
    const pending = unsent.get(articleId);
    if (given !== undefined) {
      yes.disabled = no.disabled = true;
      (given ? yes : no).setAttribute("aria-pressed", "true");
      box.classList.add("feedback-done");
      result.textContent = "你已反馈过这个回答，谢谢。";
      return box;
    }
    let button = null; // the one pressed
    let said = ""; // the vote said to be on its way, as it was said
    const tell = (failed, ...content) => {
      say(result, failed, ...content);
      // Disabling the pressed button dropped the focus to <body>: it goes to what the vote got.
      if (document.activeElement === document.body || document.activeElement === button) result.focus();
    };
    const view = {
      // Said once however many times it is sent again (an alert is not repeated), anew if offline turns online.
      unsent() {
        const text = unsentMessage("反馈");
        if (said !== text) tell(true, text);
        said = text;
      },
      failed(e) {
        if (e.code === "article_not_found") {
          // Removed since the page showed it: trying again cannot help, a fresh search can.
          tell(false, "这篇文章已更新或下线，请重新搜索。");
          return;
        }
        yes.disabled = no.disabled = false;
        button.removeAttribute("aria-pressed");
        tell(true, e.status === 429 ? errorMessage(e) : "提交失败，请稍后再试。");
      },
      sent(late) {
        box.classList.add("feedback-done");
        // Sent again by itself while the visitor read on: said, the focus left where it is.
        if (late) say(result, false, "反馈已发送，谢谢！");
        else if (button.dataset.helpful === "true") tell(false, "感谢你的反馈！");
        else if (document.body.classList.contains("showing-no-answer")) {
          // The no-answer box above has the channels (the footer hides them meanwhile) and the form.
          tell(false, "感谢反馈。换个说法试试，或", h("a", { href: "#no-answer" }, "联系客服"), "、", h("a", { href: "#ask-form" }, "留下你的问题"), "。");
        } else {
          // The answer did not help: the question is one to answer, so the form comes to it, filled in.
          resetAskForm(q);
          box.after(askForm);
          tell(false, "感谢反馈。换个说法试试，或", h("a", { href: "#contact" }, "联系客服"), "，也可以在下面留下你的问题。");
        }
      },
    };
    const press = (helpful) => {
      yes.disabled = no.disabled = true;
      button = helpful ? yes : no;
      button.setAttribute("aria-pressed", "true");
    };
    if (pending) {
      // A vote still on its way (given in an answer shown before): this box says it now.
      press(pending.body.helpful);
      pending.view = view;
      said = unsentMessage("反馈");
      say(result, true, said);
      return box;
    }
    box.addEventListener("click", (event) => {
      const pressed = event.target.closest("button[data-helpful]");
      if (!pressed || pressed.disabled) return;
      press(pressed.dataset.helpful === "true");
      unsent.set(articleId, { body: { query: q, article_id: articleId, helpful: button.dataset.helpful === "true" }, view: view });
      sendVote(articleId, 0);
    });
    return box;
  }

  const askFields = [askForm.elements.query, askForm.elements.contact];
  const ASK_NAMES = { query: "问题", contact: "联系方式" };

  // Back from under an answer voted "没有" (its place while that answer shows) into the no-answer box.
  function homeAskForm() {
    if (askForm.parentNode !== noAnswer) noAnswer.append(askForm);
  }

  function resetAskForm(q) {
    // A question on its way stays in the form, saying so, until the server has it.
    if (askForm.classList.contains("ask-unsent")) return;
    if (askForm.classList.contains("ask-sent") && askForm.dataset.query === q) return;
    askForm.classList.remove("ask-sent");
    askForm.elements.query.value = q;
    askResult("", false);
    for (const el of askForm.elements) el.disabled = false;
    for (const field of askFields) markField(field, "");
  }

  // What is wrong with a field, or "": the question is needed, and neither may pass its limit (maxlength,
  // or the one the server named when it refused the field). Characters as the server counts them.
  function askProblem(field) {
    const length = Array.from(field.value.trim()).length;
    if (field.required && !length) return "请先写下你的问题。";
    const limit = Number(field.dataset.limit) || Number(field.dataset.maxChars);
    return limit && length > limit ? ASK_NAMES[field.name] + "太长了，请精简到 " + limit + " 个字以内。" : "";
  }

  // The field marked invalid and described by its message; an empty `problem` clears both.
  function markField(field, problem) {
    const message = $("ask-" + field.name + "-error");
    message.textContent = problem;
    message.hidden = !problem;
    if (problem) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", message.id);
    } else {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    }
  }

  // The form's maxlength keeps within the API's limits; a 400 is rare, and its message is English: the
  // field it names ('contact' is longer than 100), its limit kept to check the field again as it is edited;
  // a question with no word in it (missing_query) is said as the server's page says it (pages.py).
  function refusedField(e) {
    if (e.code === "missing_query") {
      // Nothing but punctuation, emoji or invisible characters (？？？): blank to the editors, not to askProblem.
      markField(askForm.elements.query, "请先用文字写下你的问题。");
      return askForm.elements.query;
    }
    const longer = /'(query|contact)' is longer than (\d+)/.exec(e.message || "");
    if (!longer) return null;
    const field = askForm.elements[longer[1]];
    field.dataset.limit = longer[2];
    markField(field, askProblem(field) || ASK_NAMES[field.name] + "太长了，请精简到 " + longer[2] + " 个字以内。");
    return field;
  }

  function askResult(text, failed) {
    return say(askForm.querySelector(".ask-result"), failed, text);
  }

  askForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = askForm.querySelector("button[type=submit]");
    for (const field of askFields) markField(field, askProblem(field));
    const invalid = askFields.find((field) => field.hasAttribute("aria-invalid"));
    askResult("", false);
    if (invalid) {
      invalid.focus(); // its name and message are read out
      return;
    }
    for (const el of askForm.elements) el.disabled = true;
    const body = { query: askFields[0].value.trim(), contact: askFields[1].value.trim(), send_id: sendId() };
    sendQuestion({ body: body, searched: input.value.trim(), said: "" }, 0);
  });

  // An id for one question, the same each time it is sent again: the server stores it once. Not
  // crypto.randomUUID, which a page served over plain HTTP (not localhost) lacks.
  function sendId() {
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /* Sends `question` ({body, searched: the search it was left for, said: its unsent message as said}), the
     `retry`th time in a row (0: the first). Not received (the server down, restarting, offline, or no answer
     in time), it stays in the form, disabled, and is sent again by itself as a vote is (after VOTE_RETRY_S;
     offline once back online), said once; sending it twice is safe, its send_id is stored once. */
  async function sendQuestion(question, retry) {
    const button = askForm.querySelector("button[type=submit]");
    try {
      await postJSON("/api/question", question.body);
    } catch (e) {
      if (e.status === 0) {
        askForm.classList.add("ask-unsent");
        const text = unsentMessage("问题");
        if (question.said !== text) {
          const out = askResult(text, true);
          if (document.activeElement === document.body) out.focus(); // the disabled button dropped it
        }
        question.said = text;
        resend(() => sendQuestion(question, retry + 1), retry + 1);
        return;
      }
      askForm.classList.remove("ask-unsent");
      for (const el of askForm.elements) el.disabled = false;
      const field = e.status === 400 ? refusedField(e) : null;
      if (field) field.focus();
      else {
        askResult(e.status === 400 ? "提交的内容有误，请检查后再试。" : "提交失败，请稍后再试。", true);
        if (document.activeElement === document.body) button.focus();
      }
      return;
    }
    askForm.classList.remove("ask-unsent");
    askForm.classList.add("ask-sent");
    askForm.dataset.query = question.searched;
    const out = askResult("已收到，谢谢！我们会尽快补充这个问题的答案。", false);
    if (document.activeElement === document.body) out.focus(); // the disabled button dropped it
  }

  // A field marked invalid is checked again as it is edited: the mark goes once it is right.
  askForm.addEventListener("input", (event) => {
    if (event.target.hasAttribute("aria-invalid")) markField(event.target, askProblem(event.target));
  });

  // --- suggestions (the combobox's listbox) ---------------------------------------------------

  function renderSuggestions(list) {
    state.suggestions = list;
    state.active = -1;
    input.removeAttribute("aria-activedescendant");
    listbox.replaceChildren(
      ...list.map((s, i) =>
        h("li", { role: "option", id: "suggestion-" + i, class: "suggestion", "aria-selected": "false", "data-index": i },
          s.matched === s.question
            ? h("span", { class: "suggestion-question" }, highlightSpan(s.question, s.span))
            : [h("span", { class: "suggestion-question" }, s.question), h("span", { class: "suggestion-matched" }, highlightSpan(s.matched, s.span))])
      )
    );
    setOpen(list.length > 0);
  }

  function setOpen(open) {
    listbox.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) {
      state.active = -1;
      input.removeAttribute("aria-activedescendant");
    }
  }

  function closeSuggestions() {
    setOpen(false);
  }

  function isOpen() {
    return !listbox.hidden && state.suggestions.length > 0;
  }

  function setActive(index) {
    const options = listbox.querySelectorAll('[role="option"]');
    state.active = index;
    options.forEach((o, i) => o.setAttribute("aria-selected", i === index ? "true" : "false"));
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(index) {
    const s = state.suggestions[index];
    if (!s) return;
    input.value = s.question;
    clearButton.hidden = false;
    closeSuggestions();
    run({ suggest: false });
  }

  listbox.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the box
  listbox.addEventListener("click", (event) => {
    const option = event.target.closest('[role="option"]');
    if (option) choose(Number(option.dataset.index));
  });

  // --- keyboard ----------------------------------------------------------------------------------

  function summaries() {
    return Array.from(hitsList.querySelectorAll("summary"));
  }

  input.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    const n = state.suggestions.length;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (isOpen()) setActive(state.active + 1 >= n ? -1 : state.active + 1);
      else if (summaries().length) summaries()[0].focus();
      else if (listedQuestions().length) listedQuestions()[0].focus();
    } else if (event.key === "ArrowUp") {
      if (!isOpen()) return;
      event.preventDefault();
      setActive(state.active <= -1 ? n - 1 : state.active - 1);
    } else if (event.key === "Enter") {
      if (isOpen() && state.active >= 0) {
        event.preventDefault();
        choose(state.active);
      }
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (isOpen()) closeSuggestions();
      else clear();
    }
  });

  // ↓ / ↑ from one of ``items`` to the next or previous; ↑ from the first returns to the box.
  function arrowThrough(items, event) {
    const i = items.indexOf(event.target);
    if (i < 0 || (event.key !== "ArrowDown" && event.key !== "ArrowUp")) return false;
    event.preventDefault();
    if (event.key === "ArrowDown") {
      if (i + 1 < items.length) items[i + 1].focus();
    } else if (i > 0) items[i - 1].focus();
    else input.focus();
    return true;
  }

  hitsList.addEventListener("keydown", (event) => {
    if (arrowThrough(summaries(), event)) return;
    if (event.key === "Escape" && summaries().includes(event.target)) {
      event.preventDefault();
      clear();
    }
  });

  // With no answers listed, ↓ from the box reaches the questions shown instead (你是不是想问, the popular
  // ones, a category's), and ↑ / ↓ move through them as through answers.
  const questionLists = [didYouMeanList, $("popular-list"), browseList];

  function listedQuestions() {
    const shown = questionLists.find((list) => !list.closest("section").hidden && list.querySelector("a"));
    return shown ? Array.from(shown.querySelectorAll("a")) : [];
  }

  for (const list of questionLists) list.addEventListener("keydown", (event) => arrowThrough(listedQuestions(), event));

  function clear() {
    input.value = "";
    clearButton.hidden = true;
    closeSuggestions();
    input.focus();
    run({ suggest: false, history: "typing" });
  }

  // --- wiring ------------------------------------------------------------------------------------

  // Before onTyped's listener, so the search runs on what stays in the box.
  for (const field of [input, ...askFields]) keepWithinChars(field);
  onTyped(input, schedule);
  input.addEventListener("blur", () => closeSuggestions());
  clearButton.addEventListener("click", clear);
  more.addEventListener("click", loadMore);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    closeSuggestions();
    run({ suggest: false });
  });

  if (chips) {
    chips.addEventListener("click", (event) => {
      const chip = event.target.closest(".chip");
      if (!chip || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      state.category = chip.dataset.category;
      markChip(state.category);
      run({ suggest: false });
    });
    // On a phone the chips scroll in one row. Focus scrolls a chip partly in view no further (Chromium):
    // all of it, clear of the fade at the row's end (scroll-padding), and its ring.
    chips.addEventListener("focusin", (event) => {
      const chip = event.target.closest(".chip");
      if (chip) chip.scrollIntoView({ block: "nearest", inline: "nearest" });
    });
  }

  // Popular, related, "did you mean", browse and contact links search for their question in place, under
  // the filter their URL names: a related article may be in another category than the chip's.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-question]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    const category = new URL(link.href).searchParams.get("category") || "";
    state.category = category in categoryNames ? category : "";
    markChip(state.category);
    input.value = link.dataset.question;
    clearButton.hidden = false;
    closeSuggestions();
    run({ suggest: false }).then(() => {
      // The link is hidden or replaced now, which drops the focus to <body>: it goes to the answer.
      if (document.activeElement === document.body || document.activeElement === link) focusAnswer();
    });
    window.scrollTo({ top: 0 });
  });

  // The first of what the page says now, in reading order: an error, 你是不是想问, no answer, the hits.
  function focusAnswer() {
    const first = [status.classList.contains("status-error") && status, !didYouMean.hidden && $("did-you-mean-title"),
      !noAnswer.hidden && $("no-answer-title"), !maybeTitle.hidden && maybeTitle, hitsList.querySelector("summary")].find(Boolean);
    (first || input).focus();
  }

  // Back and Forward show the search of that entry again.
  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    input.value = params.get("q") || "";
    clearButton.hidden = !input.value;
    const category = params.get("category") || "";
    state.category = category in categoryNames ? category : "";
    markChip(state.category);
    closeSuggestions();
    run({ suggest: false, history: "none" });
  });

  // The server rendered any ?q= already; render it again with feedback buttons and live behaviour.
  clearButton.hidden = !input.value;
  if (input.value.trim()) run({ suggest: false, force: true, history: "none", upgrade: true });
  else state.shown = "\u0000" + state.category;
})();
