/* The agents' console: dense search with filters, full answers, why a hit matched, copy, shortcuts. */
(function () {
  "use strict";
  const { $, h, highlight, answer, plainAnswer, getJSON, getCachedJSON, query, browsing, errorMessage, serverUnreachable, unanswered, onTyped, keepWithinChars, onIndexVersion, knownVersion } = window.FAQ;

  const DEBOUNCE_MS = 60;
  const FILTER_SETTLE_MS = 700; // a filter's option resting under the arrows: about what a screen reader takes to say it
  const SLOW_MS = 700; // a list unanswered this long is said to be under way (正在搜索…), as on the search page
  const SEARCH_K = 20; // hits listed; one more is asked for, to tell "the first 20" from "all 20"
  // The server not reached (down, restarting) or not answering in time: asked again after these many
  // seconds, then the next, the last as long as it lasts; a server back soon is soon asked.
  const UNREACHABLE_RETRY_S = [5, 10, 20, 30];
  const SCORE_TITLE = "得分（0–1）：排序模型估计这篇文章回答该问题的概率，用于排序；是否可作答见「判断」。";
  const form = $("agent-form");
  const input = $("aq");
  const categorySelect = $("acategory");
  const tagSelect = $("atag");
  const list = $("agent-results");
  const listLabel = $("agent-list-label");
  const count = $("agent-count");
  const detail = $("agent-detail");
  const toast = $("agent-toast");
  const keysButton = $("keys-button");
  const singleKeys = $("single-keys");
  const keys = $("agent-keys");
  const main = $("main");
  const announce = $("agent-announce");
  const more = $("agent-more");
  // Above the list: what the console could not take from the link it was opened with.
  const linkNotice = h("p", { class: "notice agent-link-notice", role: "alert", hidden: true });
  list.before(linkNotice);

  // Heights agent.css sizes by, as they wrap at zoom or on a narrow screen: the bar (the panes take the rest
  // of the window) and the list's sticky title (what scrolling to an option keeps clear of).
  const bar = document.querySelector(".agent-bar");
  const listTitle = $("agent-list-title");
  const heights = new ResizeObserver(() => {
    const root = document.documentElement.style;
    root.setProperty("--agent-bar-height", bar.offsetHeight + "px");
    root.setProperty("--agent-list-title-height", listTitle.offsetHeight + "px");
  });
  heights.observe(bar);
  heights.observe(listTitle);

  const categoryNames = {};
  for (const o of categorySelect.options) if (o.value) categoryNames[o.value] = o.textContent;

  // unread: the item whose article the server could not send, shown as a failure in the pane.
  // failed: the options of the load that failed, the list shown (to ask again once back online); null else.
  // away: the pane shows an article opened from the list's selected one (a related one), not that one.
  // told: what the last load found ("5 条结果"), said once with the article it opens.
  // browse: the filters of a browse list, whose `total` articles come a page at a time (null for a search).
  // shown: the search and filters (listKey) of the list on display, null while one loads or after a failure.
  // moreTimer: 更多 asked again by itself after a failure (retryDelay).
  const state = { items: [], selected: -1, seq: 0, timer: 0, controller: null, q: "", detailSeq: 0, typedAt: 0, told: "",
    browse: null, total: 0, loadingMore: false, shown: null, slowTimer: 0, away: false, unread: null, failed: null, moreTimer: 0 };

  // --- loading the list --------------------------------------------------------------------------

  // Read at each load, not once: the server sets it (pages.AGENT_PAGE_SIZE), a test lowers it.
  function pageSize() {
    return Number(main.dataset.pageSize) || 200;
  }

  function schedule() {
    state.typedAt = performance.now();
    clearTimeout(state.timer);
    state.timer = setTimeout(load, DEBOUNCE_MS);
  }

  // /agent?q=…&category=…&tag=…[&article=id]: the search, and a related article opened from it.
  function consoleUrl(article) {
    const params = query({ q: input.value.trim(), category: categorySelect.value, tag: tagSelect.value, article: article });
    return "/agent" + (params ? "?" + params : "");
  }

  /* The history, as on the search page: a search committed ("commit": Enter) and a filter or related
     article chosen ("push") get an entry of their own, so Back returns to them; typing ("typing") edits
     one entry of its own; "replace" changes the URL of this entry, "none" leaves it (page load, Back).
     Each entry keeps the id of the list's article selected in it (history.state.selected). */
  function syncUrl(mode, article) {
    if (mode === "none") return;
    const url = consoleUrl(article);
    const was = history.state || {};
    const here = url === location.pathname + location.search;
    if (mode === "replace" || here || (mode !== "push" && was.typing)) {
      history.replaceState(Object.assign({}, was, mode === "commit" || mode === "push" ? { typing: false } : null), "", url);
    } else {
      history.pushState({ typing: mode === "typing" }, "", url);
    }
  }

  // What the list shows: its search and filters.
  function listKey() {
    return [input.value.trim(), categorySelect.value, tagSelect.value].join("\n");
  }

  // options.article: open that article (from the URL) instead of the first in the list; options.selected:
  // select that one if listed (as it was in this history entry); options.history: a mode of syncUrl ("typing" unless said); options.notice: what to say
  // above the list (gone once the agent searches or filters); options.retry: how many times in a row the console
  // asked again by itself (retryDelay).
  async function load(options) {
    const opts = options || {};
    clearTimeout(state.timer);
    state.timer = 0;
    linkNotice.textContent = opts.notice || "";
    linkNotice.hidden = !opts.notice;
    const q = input.value.trim();
    const category = categorySelect.value;
    const tag = tagSelect.value;
    const seq = ++state.seq;
    if (state.controller) state.controller.abort();
    state.controller = new AbortController();
    const signal = state.controller.signal;
    syncUrl(opts.history || "typing", opts.article);
    state.shown = null; // until this load shows its list
    state.failed = null;
    // Asked again by itself: the notice, which says so, stays as it is (not dimmed nor told 正在搜索… each time).
    if (!opts.retry) waiting(true, q ? "正在搜索…" : "正在加载…");
    try {
      let items;
      let label;
      let total = 0;
      let capped = false; // more hits than listed
      if (q) {
        const body = await getCachedJSON("/api/search?" + query({ q: q, k: SEARCH_K + 1, category: category, tag: tag }), signal);
        capped = body.results.length > SEARCH_K;
        // The best hit carries why it is not the answer when the question is about another product.
        items = body.results.slice(0, SEARCH_K).map((r, i) => Object.assign({ kind: "hit", other_product: i === 0 ? body.other_product : null,
          other_product_ask: i === 0 ? body.other_product_ask : null }, r));
        label = "搜索结果";
      } else if (category || tag) {
        const body = await getJSON("/api/articles?" + query({ category: category, tag: tag, limit: pageSize() }), signal);
        items = body.articles.map((a) => Object.assign({ kind: "article" }, a));
        total = body.total;
        label = "浏览";
      } else {
        const body = await getJSON("/api/popular?k=20", signal);
        items = body.questions.map((a) => Object.assign({ kind: "article" }, a));
        label = "热门问题";
      }
      if (seq !== state.seq) return;
      waiting(false);
      state.q = q;
      state.items = items;
      state.browse = !q && (category || tag) ? { category: category, tag: tag } : null;
      state.total = total;
      listLabel.textContent = label;
      const found = (capped ? "前 " : "") + items.length + " 条";
      count.textContent = state.browse ? browsing.count(state) : items.length ? "(" + (capped ? found : items.length) + ")" : "";
      state.told = state.browse && items.length ? browsing.count(state) : q || category || tag ? (items.length ? found + "结果" : q ? "没有匹配的文章" : "没有文章") : "";
      renderList();
      state.shown = listKey();
      const listed = items.findIndex((item) => item.id === (opts.article || opts.selected));
      if (opts.article && listed < 0) showArticle(opts.article);
      else select(items.length ? Math.max(listed, 0) : -1);
      main.dataset.query = q;
      main.dataset.filters = category + "|" + tag;
      if (state.typedAt) main.dataset.latencyMs = String(Math.round(performance.now() - state.typedAt));
    } catch (e) {
      if (e.name === "AbortError" || seq !== state.seq) return;
      waiting(false);
      state.failed = opts;
      state.q = q;
      state.items = [];
      state.browse = null;
      if (q) listLabel.textContent = "搜索结果"; // what failed, not the list shown before
      count.textContent = ""; // the previous list's count is not this one's
      state.told = "";
      renderList("搜索失败");
      const failed = () => showNoArticle(h("p", { class: "notice", role: "alert" }, failure(e)));
      const retry = opts.retry || 0;
      const delay = retryDelay(e, retry);
      if (delay) {
        showNoArticle(h("p", { class: "notice", role: "alert" }, failure(e, retry)));
        setTimeout(() => seq === state.seq && load(Object.assign({}, opts, { history: "none", retry: retry + 1 })), delay * 1000);
        return;
      }
      const following = goneWhileFollowing(e, category, tag);
      if (!following) {
        failed();
        return;
      }
      showNoArticle(h("p", { class: "notice" }, following));
      if (!(await followIndex()) && seq === state.seq) failed();
    }
  }

  /* Past the rate limit, or with no search server answering behind nginx (deploy/nginx.conf: 503 no_replica),
     the server says when to ask again (Retry-After); with the server not reached at all while the browser is
     online (down, restarting; getJSON has tried twice) or not answering within FAQ.timeoutMs (a worker stuck,
     a stalled proxy), after UNREACHABLE_RETRY_S[retry], `retry` the times asked again so far. The console asks
     then, by itself (a list, an article or 更多 still wanted), as the agent on a call had to notice, wait and ask
     again. Seconds to wait, 0 for no retry (offline: the browser's online event asks again). */
  function retryDelay(e, retry) {
    if ((e.status === 429 || e.status === 503) && e.retryAfter > 0) return e.retryAfter;
    if (!serverUnreachable(e) && e.code !== "timeout") return 0;
    return UNREACHABLE_RETRY_S[Math.min(retry || 0, UNREACHABLE_RETRY_S.length - 1)];
  }

  function failure(e, retry) {
    const delay = retryDelay(e, retry);
    if (!delay) {
      // Offline: asked again once the browser is back online, as the agent is told.
      if (e.code === "network_error") return "本机网络已断开，请检查网络；恢复后自动重试。";
      return errorMessage(e, main.dataset.maxChars);
    }
    const what = e.status === 429 ? "请求太频繁，" : e.status === 503 ? "搜索服务暂时不可用，" : e.code === "timeout" ? unanswered()
      : "无法连接搜索服务器（本机已联网，问题不在你这边），";
    return what + delay + " 秒后自动重试。";
  }

  /* A filter gone from the version now served (refused: unknown_tag, unknown_category): the filters are
     loaded again and the list shown without it, saying so (followIndex). What is said meanwhile, not
     errorMessage's 请刷新页面, said only if they cannot be loaded; null for any other failure. */
  function goneWhileFollowing(e, category, tag) {
    if (e.code === "unknown_tag") return "标签「" + tag + "」已不存在（帮助内容已更新），正在更新筛选…";
    if (e.code === "unknown_category") return "分类「" + (categoryNames[category] || category) + "」已不存在（帮助内容已更新），正在更新筛选…";
    return null;
  }

  /* A list under way: what shows is the one before, and so is its article. Both are marked busy at once
     (dimmed soon after, agent.css) and, once the wait is noticeable, said to be under way; the pane stays
     busy until the new list's article is in (showDetail), so `c` never copies the question before's answer. */
  function waiting(on, text) {
    clearTimeout(state.slowTimer);
    busy(list, on);
    if (on) {
      busy(detail, true);
      state.slowTimer = setTimeout(() => {
        count.textContent = text;
        announce.textContent = text;
      }, SLOW_MS);
    }
  }

  function busy(part, on) {
    if (on) part.setAttribute("aria-busy", "true");
    else part.removeAttribute("aria-busy");
  }

  function renderList(failure) {
    state.selected = -1; // nothing chosen in the new list yet (its options are not the old one's)
    list.replaceChildren(...state.items.map(option));
    if (!state.items.length) list.append(h("li", { class: "agent-none" }, failure || (state.q ? "没有匹配的文章" : "没有文章")));
    browsing.showMore(more, state);
  }

  // A browse list's options say their place among all (aria-setsize), not only among those loaded.
  function option(item, i) {
    return h("li", { role: "option", id: "agent-item-" + i, class: "agent-item" + (item.kind === "hit" && !item.confident ? " agent-item-weak" : "") + (item.deleted ? " agent-item-deleted" : ""),
      "aria-selected": "false", "aria-disabled": item.deleted ? "true" : null, "data-index": i,
      "aria-setsize": state.browse ? state.total : null, "aria-posinset": state.browse ? i + 1 : null },
      h("span", { class: "agent-item-question" }, item.kind === "hit" ? highlight(item.question, foundWords(item)) : item.question),
      h("span", { class: "agent-item-meta" },
        item.deleted ? h("span", { class: "agent-deleted" }, "已删除") : null,
        item.kind === "hit" ? h("span", { class: "agent-score", title: SCORE_TITLE }, h("span", { class: "visually-hidden" }, "得分 "), item.score.toFixed(3)) : null,
        h("span", null, categoryNames[item.category] || item.category),
        h("code", null, item.id)));
  }

  /* An article of the list deleted since the list came (a new index version without it): its option stays,
     so j/k keep their places, greyed and marked 已删除; chosen again, the pane says so, with nothing to copy. */
  function markDeleted(id) {
    const index = state.items.findIndex((item) => item.id === id);
    if (index < 0 || state.items[index].deleted) return;
    state.items[index].deleted = true;
    const was = $("agent-item-" + index);
    const marked = option(state.items[index], index);
    marked.setAttribute("aria-selected", was.getAttribute("aria-selected"));
    was.replaceWith(marked);
  }

  // --- a browse list's further pages ---------------------------------------------------------------

  function hasMore() {
    return browsing.hasMore(state);
  }

  // The next page appended (the list keeps its place for j/k), its first article selected; the focus on
  // 更多, which may go with the last page, moves to the list. `retry`: as load's options.retry.
  async function loadMore(retry) {
    clearTimeout(state.moreTimer); // asked now: not once more when the wait is over
    const from = state.items.length;
    const browse = state.browse;
    const seq = state.seq;
    let added;
    try {
      added = await browsing.loadNext(state, more, pageSize(), (a) => Object.assign({ kind: "article" }, a));
    } catch (e) {
      const delay = retryDelay(e, retry);
      if (delay) {
        // As a search is: said until asked again, then asked, unless another list replaced this one.
        showToast("加载失败：" + failure(e, retry), delay * 1000);
        state.moreTimer = setTimeout(() => seq === state.seq && loadMore((retry || 0) + 1), delay * 1000);
        return;
      }
      const failed = () => showToast("加载失败：" + errorMessage(e, main.dataset.maxChars)); // 更多 to ask again
      const following = goneWhileFollowing(e, browse.category, browse.tag);
      if (!following) failed();
      else {
        showToast(following); // the filter gone since the first page
        if (!(await followIndex())) failed();
      }
      return;
    }
    if (!added) return;
    list.append(...added.map((item, i) => option(item, from + i)));
    list.querySelectorAll('[role="option"]').forEach((o) => o.setAttribute("aria-setsize", state.total));
    count.textContent = browsing.count(state);
    const focused = document.activeElement;
    browsing.showMore(more, state);
    if (!added.length) return;
    if (focused === more || focused === document.body) list.focus();
    state.told = browsing.loaded(from, state);
    select(from);
  }

  // --- selection and the detail pane ---------------------------------------------------------------

  function select(index) {
    state.away = false;
    const options = list.querySelectorAll('[role="option"]');
    if (index < 0 || index >= options.length) {
      state.selected = -1;
      list.removeAttribute("aria-activedescendant");
      showNoArticle(h("p", { class: "agent-empty" }, state.q ? "没有匹配的文章。换个说法，或去掉分类和标签筛选。" : "输入客户的问题，或从左侧选择一条。"));
      return;
    }
    state.selected = index;
    options.forEach((o, i) => o.setAttribute("aria-selected", i === index ? "true" : "false"));
    list.setAttribute("aria-activedescendant", options[index].id);
    options[index].scrollIntoView({ block: "nearest" });
    history.replaceState(Object.assign({}, history.state, { selected: state.items[index].id }), "");
    showDetail(state.items[index]);
  }

  // `c` copies what the pane shows; nothing while it shows no article, or another one is loading.
  function forgetAnswer() {
    delete detail.dataset.articleId;
    delete detail.dataset.answer;
    delete detail.dataset.verdict;
    delete detail.dataset.version;
  }

  function showNoArticle(message) {
    state.detailSeq++; // an article still loading must not replace the message
    state.unread = null;
    forgetAnswer();
    busy(detail, false);
    // The same again (a failure asked again while the service is down) stays: an alert is not said anew.
    if (!showing(message)) fillDetail(message);
    announce.textContent = state.told; // a failure says itself (role=alert)
    state.told = "";
  }

  // Whether the pane shows `message` alone already.
  function showing(message) {
    return detail.childElementCount === 1 && detail.firstElementChild.isEqualNode(message);
  }

  // Whether the focus is on something in the pane (not the pane itself, focused by a click into its text).
  function focusInDetail() {
    return document.activeElement !== detail && detail.contains(document.activeElement);
  }

  // The pane's new content (nulls left out: replaceChildren would show them as text). Focus on what it
  // replaces (a related link, the copy button) goes to the new article's heading, not <body>.
  function fillDetail(...children) {
    const refocus = focusInDetail();
    detail.replaceChildren(...children.filter((c) => c !== null));
    detail.scrollTop = 0; // a new article starts at its heading, not where the one before was scrolled to
    if (refocus) (detail.querySelector(".detail-question") || list).focus();
  }

  // `retry`: as load's options.retry (the failure it asks again after stays as it is meanwhile).
  async function showDetail(item, retry) {
    const seq = ++state.detailSeq;
    state.unread = null;
    forgetAnswer();
    if (item.deleted) {
      showNoArticle(h("p", { class: "notice" }, "这篇文章（", h("code", null, item.id), "）已从帮助内容中删除，没有可复制的答案。"));
      return;
    }
    if (!retry) busy(detail, true); // what it shows is the article before until this one is in
    let article;
    try {
      article = await getCachedJSON("/api/articles/" + encodeURIComponent(item.id));
    } catch (e) {
      if (seq === state.detailSeq) {
        busy(detail, false);
        state.unread = item; // for Enter to read again
        state.told = "";
        announce.textContent = "";
        const notice = h("p", { class: "notice", role: "alert" }, "无法读取文章 ", h("code", null, item.id), "：", failure(e, retry));
        if (!showing(notice)) fillDetail(notice); // the same failure asked again is not a new alert
        const delay = retryDelay(e, retry);
        if (delay) setTimeout(() => seq === state.detailSeq && state.unread && showDetail(state.unread, (retry || 0) + 1), delay * 1000);
      }
      return;
    }
    if (seq !== state.detailSeq) return;
    busy(detail, false);
    const hit = item.kind === "hit" ? item : null;
    const terms = hit ? foundWords(hit) : [];
    fillDetail(
      h("div", { class: "detail-head" },
        h("h2", { class: "detail-question", tabindex: "-1" }, highlight(article.question, terms)),
        h("button", { type: "button", class: "copy-button", id: "copy-button", "aria-keyshortcuts": singleKeys.checked ? "c" : null }, "复制答案 ", h("kbd", null, "c"))),
      h("dl", { class: "detail-meta" },
        meta("ID", h("code", null, article.id)),
        meta("分类", categoryNames[article.category] || article.category),
        meta("标签", article.tags.length ? article.tags.map((t) => h("span", { class: "tag" }, t)) : "—"),
        meta("更新", formatTime(article.updated)),
        article.feedback ? meta("反馈", "有帮助 " + article.feedback.helpful + " · 没帮助 " + article.feedback.not_helpful) : null,
        hit ? meta("得分", [h("span", { title: SCORE_TITLE }, hit.score.toFixed(3)), explain("得分说明", SCORE_TITLE)]) : null,
        hit ? meta("判断", [verdict(hit), explain("判断说明", verdictNote(hit))]) : null),
      hit ? why(hit) : null,
      h("section", { class: "detail-section" }, h("h3", null, "答案"), answer(article.answer, terms)),
      article.similar_questions.length
        ? h("section", { class: "detail-section" }, h("h3", null, "相似问法"),
            h("ul", { class: "similar-list" }, article.similar_questions.map((s) => h("li", { class: hit && s === hit.matched ? "is-matched" : null }, highlight(s, terms)))))
        : null,
      article.related.length
        ? h("section", { class: "detail-section" }, h("h3", null, "相关文章"),
            h("ul", { class: "related-list" }, article.related.map((r) =>
              h("li", null, h("a", { href: "/agent?q=" + encodeURIComponent(r.question), "data-article": r.id }, r.question), " ", h("code", null, r.id)))))
        : null
    );
    // Not the whole pane: j/k would read every article out.
    announce.textContent = (state.told ? state.told + "：" : "") + article.question;
    state.told = "";
    detail.dataset.articleId = article.id;
    detail.dataset.version = article.index_version; // of the answer read (kept ones: of when it was fetched)
    detail.dataset.answer = plainAnswer(article.answer); // pasted where Markdown is not read: no ** nor [](…)
    // A hit not taken as the answer: `c` says so, as the agent may copy without looking at the verdict.
    if (hit && !hit.confident) detail.dataset.verdict = hit.other_product ? "问的是" + hit.other_product : "不确定";
  }

  // The article the server could not send (restarting, a dropped connection), read again: Enter.
  function readAgain() {
    if (state.unread) showDetail(state.unread);
  }

  /* Whether the hit answers the question: the no-answer model's call (`confident`), not a threshold on
     the score, so a high score can be 不确定 and a low one 可信. */
  function verdict(hit) {
    const title = verdictNote(hit);
    if (hit.confident) return h("span", { class: "badge badge-ok", title: title }, "可信");
    return h("span", { class: "badge badge-weak", title: title }, hit.other_product ? "问的是" + hit.other_product : "不确定");
  }

  function verdictNote(hit) {
    if (hit.confident) return "无答案模型判断这篇文章回答了客户的问题，可以作为答案。";
    return hit.other_product
      ? "客户问的是" + hit.other_product + "的问题：这篇文章只是相关，不是答案。" +
        (hit.other_product_ask ? "这类问题请客户咨询" + hit.other_product_ask + "。" : "")
      : "无答案模型不能确定这篇文章回答了客户的问题（与得分分开判断），请核对后再答复。";
  }

  /* A "?" button that shows what a value means as text: a title is read on hover only, not by keyboard,
     touch or screen-reader users. */
  function explain(label, text) {
    const note = h("span", { class: "meta-note", id: "meta-note-" + ++explain.count, hidden: true }, text);
    const button = h("button", { type: "button", class: "note-button", "aria-label": label, "aria-expanded": "false", "aria-controls": note.id }, "?");
    button.addEventListener("click", () => {
      note.hidden = !note.hidden;
      button.setAttribute("aria-expanded", note.hidden ? "false" : "true");
    });
    return [button, note];
  }
  explain.count = 0;

  function meta(label, value) {
    return [h("dt", null, label), h("dd", null, value)];
  }

  /* What to highlight in the question and the answer: every query word found, every synonym found and every
     word read from pinyin. */
  function foundWords(hit) {
    return hit.matched_terms.concat(hit.answer_terms || [], (hit.synonyms || []).flatMap((s) => [s.query, s.matched]),
      (hit.read_as || []).map((s) => s.read));
  }

  /* Why it matched: the phrasing with the words found in it (as typed, as a synonym, or read from pinyin)
     highlighted, those words and their weights; words found only in the answer; synonym matches (封号 → 冻结);
     pinyin read as words (daozhang → 到账). */
  function why(hit) {
    const weights = hit.term_weights || {};
    const max = Math.max(0.0001, ...Object.values(weights));
    const answerTerms = hit.answer_terms || [];
    const synonyms = hit.synonyms || [];
    const readAs = hit.read_as || [];
    const inMatched = synonyms.filter((s) => s.in === "matched").map((s) => s.matched)
      .concat(readAs.filter((s) => s.in === "matched").map((s) => s.read));
    const weight = (t) => h("span", { class: "why-weight" }, (weights[t] || 0).toFixed(3));
    return h("section", { class: "detail-section why" },
      h("h3", null, "为什么匹配"),
      h("p", { class: "why-matched" }, "匹配问法：", h("q", null, highlight(hit.matched, hit.matched_terms.concat(inMatched))), hit.matched === hit.question ? "（标准问题）" : "（相似问法）"),
      hit.matched_terms.length
        ? h("ul", { class: "why-terms", "aria-label": "匹配词和权重" }, hit.matched_terms.map((t) => {
            const bar = h("span", { class: "why-bar" });
            bar.style.width = Math.round(((weights[t] || 0) / max) * 100) + "%"; // CSSOM, not a style attribute: CSP-safe
            return h("li", null, h("span", { class: "why-term" }, t), h("span", { class: "why-track" }, bar), weight(t));
          }))
        : null,
      synonyms.length
        ? h("p", { class: "why-synonyms" }, "同义词：", synonyms.map((s, i) => [i ? "、" : "",
            h("span", { class: "why-term" }, s.query + " → " + s.matched), s.in === "answer" ? "（答案中）" : "", " ", weight(s.query)]))
        : null,
      readAs.length
        ? h("p", { class: "why-read-as" }, "拼音：", readAs.map((s, i) => [i ? "、" : "",
            h("span", { class: "why-term" }, s.query + " → " + s.read), s.in === "answer" ? "（答案中）" : "", " ", weight(s.read)]))
        : null,
      answerTerms.length
        ? h("p", { class: "why-answer" }, "答案中出现：", answerTerms.map((t, i) => [i ? "、" : "", h("span", { class: "why-term" }, t), " ", weight(t)]))
        : null,
      hit.matched_terms.length || synonyms.length || readAs.length || answerTerms.length ? null : h("p", { class: "why-none" }, "没有整词匹配（按字匹配）"));
  }

  // Local time with its zone, 2026-11-23 08:02 UTC+8 (UTC+5:30, UTC): agents in several zones and the CLI
  // then read the same moment.
  function formatTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
    const pad = (n) => String(n).padStart(2, "0");
    const east = -d.getTimezoneOffset(); // minutes, at that date (summer time)
    const off = Math.abs(east);
    const zone = "UTC" + (east ? (east > 0 ? "+" : "-") + Math.floor(off / 60) + (off % 60 ? ":" + pad(off % 60) : "") : "");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + " " + zone;
  }

  // --- copy ----------------------------------------------------------------------------------------

  async function copyAnswer() {
    const text = detail.dataset.answer;
    // The pane still shows the question before's article: pasted into the chat, it would answer the wrong one.
    if (state.timer || list.hasAttribute("aria-busy")) {
      showToast("正在搜索，请等结果出来再复制");
      return;
    }
    if (detail.hasAttribute("aria-busy")) {
      showToast("正在读取文章，请稍候再复制");
      return;
    }
    if (!text) {
      showToast("没有可复制的答案");
      return;
    }
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch (e) {
      // Older browsers or a page not served over HTTPS: copy through a selected, off-screen textarea.
      const focused = document.activeElement; // selecting the textarea takes focus; give it back
      const area = h("textarea", { class: "visually-hidden", readonly: true });
      area.value = text;
      document.body.append(area);
      area.select();
      try {
        ok = document.execCommand("copy");
      } catch (e2) {
        ok = false;
      }
      area.remove();
      if (focused) focused.focus({ preventScroll: true });
    }
    const verdict = detail.dataset.verdict;
    if (!ok) showToast("复制失败，请手动选择文字复制");
    else if (verdict) showToast("已复制答案（" + detail.dataset.articleId + "），但判断为「" + verdict + "」：请核对后再发给客户", 5000);
    else showToast("已复制答案（" + detail.dataset.articleId + "）");
    if (ok) followCopied(text);
  }

  /* The answer copied may be from before the version served now: nothing is asked while the agent reads.
     Asked after copying (a request before it would cost the keystroke its leave to write the clipboard in
     Safari): an answer corrected since is shown in place and said, to be copied again; an article deleted
     since is said in its place, with nothing left to copy. */
  async function followCopied(copied) {
    const id = detail.dataset.articleId;
    const read = detail.dataset.version;
    if (!read || (await knownVersion()) === read) return;
    let article;
    try {
      article = await getCachedJSON("/api/articles/" + encodeURIComponent(id)); // the version moved: not a kept one
    } catch (e) {
      // Other failures: said when the agent next opens it.
      if (e.code !== "article_not_found") return;
      markDeleted(id); // in the list too, wherever the agent went meanwhile
      if (detail.dataset.articleId !== id || detail.hasAttribute("aria-busy")) return;
      showNoArticle(h("p", { class: "notice", role: "alert" }, "这篇文章（", h("code", null, id), "）已从帮助内容中删除：刚才复制的答案已失效，请不要发给客户。"));
      showToast("刚才复制的文章已删除（帮助内容已更新）：请不要发给客户", 8000);
      return;
    }
    if (detail.dataset.articleId !== id || detail.hasAttribute("aria-busy")) return; // the agent moved on
    if (plainAnswer(article.answer) === copied) {
      detail.dataset.version = article.index_version; // the pane left as it is (where it is scrolled to)
      return;
    }
    const listed = state.items[state.selected];
    await showDetail(!state.away && listed && listed.id === id ? listed : { kind: "article", id: id });
    if (detail.dataset.articleId === id) showToast("帮助内容已更新，刚才复制的是旧答案：这篇文章的答案已改，请重新复制", 8000);
  }

  // Written into the live region, which is always there (agent.html); emptied, not hidden, when done.
  function showToast(text, ms) {
    toast.textContent = text;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(() => (toast.textContent = ""), ms || 2000);
  }

  // --- events --------------------------------------------------------------------------------------

  /* The filters list the categories and tags of the index version they came from (filters.version). An
     answer from another version (an editor added or removed some, and the server loaded the new build)
     loads them again, at most once in FOLLOW_GAP_MS: while hosts switch one by one, answers alternate between
     two versions. So does going to a filter when the server has said nothing for a minute (no polling).
     filters.heard: when an answer last came; filters.followed: when they were last loaded again;
     filters.loading: loads under way; tagsSeq: the latest tags'. */
  const FILTERS_FRESH_MS = 60 * 1000;
  const FOLLOW_GAP_MS = 10 * 1000;
  const filters = { version: "", heard: 0, followed: -Infinity, loading: 0, tagsSeq: 0 };

  // Tags never read (filters.version ""; the server down or refusing as the page opened) are read as soon as
  // it answers again, as for another version: the filter offered 全部标签 alone all call long.
  onIndexVersion((version) => {
    filters.heard = performance.now();
    if (version === filters.version || filters.loading) return;
    if (performance.now() - filters.followed > FOLLOW_GAP_MS) followIndex();
  });

  // Whether the tags were loaded.
  async function loadTags() {
    const seq = ++filters.tagsSeq;
    filters.loading++;
    try {
      const body = await getJSON("/api/tags?" + query({ category: categorySelect.value }));
      if (seq !== filters.tagsSeq) return true; // a later load (another category) fills the filter
      const keep = tagSelect.value; // read now: the arrows may have moved it meanwhile
      tagSelect.replaceChildren(h("option", { value: "" }, "全部标签"), ...body.tags.map((t) => h("option", { value: t.name }, t.name + " (" + t.count + ")")));
      tagSelect.value = body.tags.some((t) => t.name === keep) ? keep : "";
      filters.version = body.index_version;
      return true;
    } catch (e) {
      return false; // the filter stays as it was
    } finally {
      filters.loading--;
    }
  }

  // Whether the categories were loaded (the page came with those of the version it was rendered from).
  async function loadCategories() {
    try {
      const body = await getJSON("/api/categories");
      const keep = categorySelect.value;
      categorySelect.replaceChildren(h("option", { value: "" }, "全部分类"), ...body.categories.map((c) => h("option", { value: c.id }, c.name)));
      for (const id of Object.keys(categoryNames)) delete categoryNames[id];
      for (const c of body.categories) categoryNames[c.id] = c.name;
      categorySelect.value = categoryNames[keep] ? keep : "";
      return true;
    } catch (e) {
      return false;
    }
  }

  // The filters of the version served now. A category or tag chosen that it no longer has is dropped,
  // and the list shown without it, saying so (as for an old link's). Whether one was (the list reloaded).
  async function followIndex() {
    const category = categorySelect.value;
    const categoryName = categoryNames[category] || category;
    const tag = tagSelect.value;
    filters.loading++;
    filters.followed = performance.now();
    try {
      const categoriesRead = await loadCategories();
      const tagsRead = await loadTags(); // those of the category chosen now
      const gone = [];
      if (category && categoriesRead && !categorySelect.value) gone.push(["分类「" + categoryName + "」", "全部分类"]);
      if (tag && tagsRead && !tagSelect.value) gone.push(["标签「" + tag + "」", "全部标签"]);
      if (gone.length) load({ history: "replace", notice: goneNotice("", gone) });
      return gone.length > 0;
    } finally {
      filters.loading--;
    }
  }

  // gone: [what, what is shown instead], as 分类「…」 and 全部分类.
  function goneNotice(where, gone) {
    return where + gone.map((g) => g[0]).join("和") + "已不存在（帮助内容已更新），现显示" + gone.map((g) => g[1]).join("、") + "的文章。";
  }

  // Before onTyped's listener, so the search runs on what stays in the box.
  keepWithinChars(input);
  // Each search is logged and counts against the rate limit: none for the letters of a composition.
  onTyped(input, () => {
    // What is typed or pasted beyond the limit (in characters, as the server counts) is dropped without a word; say so.
    const limit = Number(input.dataset.maxChars);
    if (Array.from(input.value).length >= limit) showToast("已达到 " + limit + " 字上限，多出的文字没有输入");
    schedule();
  });
  /* A closed select changes its value at each arrow key (Chromium on Windows and Linux), and passing over
     an option is not choosing it. A filter changed from the keyboard loads once it rests there
     (FILTER_SETTLE_MS), or at once when the focus leaves it (Enter to the list, Esc, Tab); the options
     chosen on one visit to the filter make one history entry, the last of them. One picked with the
     mouse loads at once, an entry of its own. */
  const filter = { keyed: null, timer: 0, pending: null, entry: false };

  function filterChanged(select) {
    const keyed = filter.keyed === select;
    clearTimeout(filter.timer);
    filter.pending = async () => {
      const mode = keyed && filter.entry ? "replace" : "push";
      filter.entry = keyed;
      if (select === categorySelect) await loadTags();
      load({ history: mode });
    };
    if (keyed) filter.timer = setTimeout(settleFilter, FILTER_SETTLE_MS);
    else settleFilter();
  }

  function settleFilter() {
    clearTimeout(filter.timer);
    const run = filter.pending;
    filter.pending = null;
    if (run) run();
  }

  for (const select of [categorySelect, tagSelect]) {
    select.addEventListener("change", () => filterChanged(select));
    select.addEventListener("focus", () => (filter.entry = false));
    select.addEventListener("blur", settleFilter);
    select.addEventListener("focus", () => {
      if (performance.now() - filters.heard > FILTERS_FRESH_MS && !filters.loading) followIndex();
    });
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load({ history: "commit" });
  });
  // Back in the list (Tab, Shift+Tab), the option selected is brought into view, not only the list's top.
  list.addEventListener("focus", () => {
    if (state.selected >= 0) list.querySelectorAll('[role="option"]')[state.selected].scrollIntoView({ block: "nearest" });
  });
  list.addEventListener("click", (event) => {
    const option = event.target.closest('[role="option"]');
    if (!option) return;
    syncUrl("replace");
    select(Number(option.dataset.index));
  });
  detail.addEventListener("click", (event) => {
    if (event.target.closest("#copy-button")) copyAnswer();
    const link = event.target.closest("a[data-article]");
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
      event.preventDefault();
      syncUrl("push", link.dataset.article);
      showArticle(link.dataset.article);
    }
  });
  function showKeys(shown) {
    if (!shown && keys.contains(document.activeElement)) keysButton.focus(); // not <body>
    keys.hidden = !shown;
    keysButton.setAttribute("aria-expanded", shown ? "true" : "false");
  }
  keysButton.addEventListener("click", () => showKeys(keys.hidden));

  /* The one-letter keys (/ j k c ?) can be turned off in the list of keys, remembered in this browser
     (WCAG 2.1.4): a word a speech-input user says must not copy an answer or move the list. Not made to
     work only with the focus in the list, as they work from the answer, the filters and the buttons too,
     where agents read and copy. */
  const SINGLE_KEYS_KEY = "faq-agent-single-keys";
  const placeholder = input.placeholder;

  function applySingleKeys() {
    const on = singleKeys.checked;
    document.body.classList.toggle("single-keys-off", !on); // agent.css hides the copy button's c
    input.placeholder = on ? placeholder : placeholder.replace(/（.*）/, "");
    for (const [el, key] of [[keysButton, "?"], [$("copy-button"), "c"]]) {
      if (el && on) el.setAttribute("aria-keyshortcuts", key);
      else if (el) el.removeAttribute("aria-keyshortcuts");
    }
  }

  try {
    singleKeys.checked = localStorage.getItem(SINGLE_KEYS_KEY) !== "off";
  } catch (e) {
    /* storage blocked: on, as shipped */
  }
  applySingleKeys();
  singleKeys.addEventListener("change", () => {
    try {
      localStorage.setItem(SINGLE_KEYS_KEY, singleKeys.checked ? "on" : "off");
    } catch (e) {
      /* storage blocked: for this page only */
    }
    applySingleKeys();
  });
  // Turned off or on in another tab of the console: here too (the agent speaks to all of them).
  window.addEventListener("storage", (event) => {
    if (event.key !== SINGLE_KEYS_KEY) return;
    singleKeys.checked = event.newValue !== "off";
    applySingleKeys();
  });
  more.addEventListener("click", () => loadMore());

  // An article that is not (or not the selected one) in the list: a related one. state.selected stays the
  // list's article it was opened from, where j/k go on from.
  function showArticle(id) {
    state.away = true;
    list.querySelectorAll('[aria-selected="true"]').forEach((o) => o.setAttribute("aria-selected", "false"));
    list.removeAttribute("aria-activedescendant");
    showDetail({ kind: "article", id: id });
  }

  function move(step) {
    if (!state.items.length) return;
    if (focusInDetail()) list.focus(); // the pane is about to be replaced under the focus
    syncUrl("replace"); // the list's article, not a related one, from now on
    if (step > 0 && state.selected === state.items.length - 1 && hasMore()) {
      loadMore(); // past the last one loaded: the next page, its first article
      return;
    }
    const next = Math.min(state.items.length - 1, Math.max(0, state.selected + step));
    if (next !== state.selected || state.away) select(next); // at an end: the article stays where it is scrolled
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (event.key === "Escape" && !keys.hidden) {
      // The list of keys closes first, wherever the focus is.
      event.preventDefault();
      showKeys(false);
      return;
    }
    const typing = event.target === input || /^(INPUT|TEXTAREA)$/.test(event.target.tagName);
    const letter = singleKeys.checked ? event.key : ""; // the one-letter keys, unless turned off
    if (event.target.tagName === "SELECT") {
      // A filter is no text field: / j k c ? work from it (c silent here would leave the answer before in
      // the clipboard, to be pasted), Esc goes back to the box, Enter to the list.
      // Arrows and other letters still choose an option, as a select does: a change this key makes (in
      // its default action, before any task) is the keyboard's.
      filter.keyed = event.target;
      setTimeout(() => (filter.keyed = null));
      if (filter.pending && (letter === "j" || letter === "k")) {
        event.preventDefault(); // the filter's list first, its first article selected
        settleFilter();
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        input.focus();
        return;
      }
      if (event.key === "Enter") {
        event.preventDefault();
        list.focus();
        return;
      }
      if (!["/", "j", "k", "c", "?"].includes(letter)) return;
    }
    if (event.target === input) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        move(event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Escape") {
        event.preventDefault();
        input.blur();
        list.focus();
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (state.shown === listKey() && !state.timer) {
          // The list is the box's: keep the article chosen in it; the search becomes an entry of its own.
          syncUrl("commit", new URLSearchParams(location.search).get("article"));
          list.focus();
          readAgain();
        } else {
          load({ history: "commit" }).then(() => list.focus());
        }
      }
      return;
    }
    if (typing) return;
    // Elsewhere (the answer pane, a button, a link) the arrows keep scrolling the page or the pane.
    const arrowsMove = event.target === list || event.target === document.body;
    if (letter === "/") {
      event.preventDefault();
      input.focus();
      input.select();
    } else if (letter === "j" || (event.key === "ArrowDown" && arrowsMove)) {
      event.preventDefault();
      move(1);
    } else if (letter === "k" || (event.key === "ArrowUp" && arrowsMove)) {
      event.preventDefault();
      move(-1);
    } else if (letter === "c") {
      event.preventDefault();
      copyAnswer();
    } else if (letter === "?") {
      keysButton.click();
    } else if (event.key === "Enter" && event.target === list) {
      readAgain();
    }
  });

  // Start from the URL, so a search (and a related article opened from it) can be shared or reloaded;
  // Back and Forward return to the search, filters and article before. A category or tag the index no
  // longer has (an old link or bookmark) is said, and left out of the URL.
  async function loadFromUrl() {
    clearTimeout(filter.timer); // a filter passed over, not yet loaded, is not the entry returned to
    filter.pending = null;
    const params = new URLSearchParams(location.search);
    const category = params.get("category") || "";
    const tag = params.get("tag") || "";
    input.value = params.get("q") || "";
    categorySelect.value = categoryNames[category] ? category : "";
    const tagsKnown = await loadTags();
    tagSelect.value = tag;
    if (tagSelect.selectedIndex < 0) tagSelect.value = ""; // an unknown tag: 全部标签, not a blank filter
    const gone = [];
    if (category && !categorySelect.value) gone.push(["分类「" + category + "」", "全部分类"]);
    if (tag && !tagSelect.value && tagsKnown) gone.push(["标签「" + tag + "」", "全部标签"]);
    const notice = gone.length ? goneNotice("链接中的", gone) : "";
    await load({ article: params.get("article"), selected: history.state && history.state.selected,
      history: gone.length ? "replace" : "none", notice: notice });
  }

  // Back online (the browser says so): the list, or else the article, that failed meanwhile is asked again,
  // as the agent had to notice and press Enter.
  window.addEventListener("online", () => {
    if (state.failed) load(Object.assign({}, state.failed, { history: "none", retry: 0 }));
    else readAgain();
  });
  window.addEventListener("popstate", loadFromUrl);
  loadFromUrl();
})();
