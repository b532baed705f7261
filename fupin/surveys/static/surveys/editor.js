/* The form editor (Alpine component): edits a version's definition in the page and saves it as JSON. */
function formEditor(saveUrl, previewUrl) {
  const csrf = () => (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value;
  return {
    defn: JSON.parse(document.getElementById("sv-definition").textContent || "{}"),
    types: JSON.parse(document.getElementById("sv-types").textContent || "[]"),
    open: null, problems: [], savedAt: "", note: "",
    init() { if (!this.defn.sections) this.defn.sections = []; },
    typeLabel(t) { const f = this.types.find(x => x[0] === t); return f ? f[1] : t; },
    addSection() { this.defn.sections.push({key: "s" + (this.defn.sections.length + 1), title: "新分类", items: []}); },
    removeSection(si) { if (confirm("删除这个分类和其中的全部题目?")) this.defn.sections.splice(si, 1); },
    moveSection(si, d) { const a = this.defn.sections, j = si + d; if (j < 0 || j >= a.length) return; [a[si], a[j]] = [a[j], a[si]]; },
    addItem(si) {
      const items = this.defn.sections[si].items; let n = items.length + 1, key = "q" + n;
      const all = new Set(this.defn.sections.flatMap(s => s.items.map(i => i.key)));
      while (all.has(key)) { n += 1; key = "q" + n; }
      items.push({key: key, label: "", type: "text"});
      this.open = si + "-" + (items.length - 1);
    },
    move(si, ii, d) { const a = this.defn.sections[si].items, j = ii + d; if (j < 0 || j >= a.length) return; [a[ii], a[j]] = [a[j], a[ii]]; this.open = null; },
    remove(si, ii) { this.defn.sections[si].items.splice(ii, 1); this.open = null; },
    optionsText(it) { return (it.options || []).map(o => o[0] === o[1] ? o[0] : o[0] + "=" + o[1]).join("\n"); },
    setOptions(it, text) {
      it.options = text.split("\n").map(l => l.trim()).filter(Boolean).map(l => { const p = l.split("="); return [p[0].trim(), (p[1] || p[0]).trim()]; });
    },
    rulesText(it) { return (it.validations || []).map(v => v.rule + (v.message ? " | " + v.message : "")).join("\n"); },
    setRules(it, text) {
      it.validations = text.split("\n").map(l => l.trim()).filter(Boolean).map(l => { const i = l.lastIndexOf("|"); return i < 0 ? {rule: l} : {rule: l.slice(0, i).trim(), message: l.slice(i + 1).trim()}; });
    },
    columnsText(it) { return JSON.stringify(it.columns || [], null, 1); },
    setColumns(it, text) { try { it.columns = JSON.parse(text); } catch (e) { this.problems = ["表格列不是合法的JSON:" + e.message]; } },
    cleaned() {
      const d = JSON.parse(JSON.stringify(this.defn));
      for (const s of d.sections) for (const it of s.items) {
        for (const k of Object.keys(it)) if (it[k] === "" || it[k] === null || it[k] === false || (Array.isArray(it[k]) && !it[k].length && k !== "columns")) delete it[k];
        if (it.type !== "table") delete it.columns;
        if (it.code_list) delete it.options;
        for (const k of ["min", "max"]) if (k in it && !isNaN(Number(it[k]))) it[k] = Number(it[k]);
      }
      return d;
    },
    async post(url, body) {
      return fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: JSON.stringify(body)});
    },
    async save() {
      const r = await this.post(saveUrl, {definition: this.cleaned(), note: this.note});
      const data = await r.json().catch(() => ({ok: false, problems: ["保存失败"]}));
      this.problems = data.ok ? [] : data.problems; if (data.ok) this.savedAt = data.saved_at;
      return data.ok;
    },
    async preview() {
      const r = await this.post(previewUrl, {definition: this.cleaned()});
      document.getElementById("preview").innerHTML = await r.text();
    },
    async publish() {
      if (!(await this.save())) return;
      if (confirm("发布后这个版本不能再修改,新的填报都按这个版本进行。确定发布?")) this.$refs.publish.submit();
    },
  };
}

document.addEventListener("alpine:init", function () { window.Alpine.data("formEditor", formEditor); });
