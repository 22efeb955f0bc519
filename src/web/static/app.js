// The console's only script: sort the board by a column, refresh it every 30 s; send
// the file of 补交文件 (a 超大附件 link's item page) as the request body, with progress.
(function () {
  function sortable(table) {
    var heads = table.querySelectorAll('th');
    for (var i = 0; i < heads.length; i++) {
      (function (col, th) {
        th.addEventListener('click', function () {
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);
          var num = th.getAttribute('data-sort') === 'num' || rows.some(function (r) { return r.cells[col].hasAttribute('data-v'); });
          var down = th.getAttribute('data-dir') !== 'down';
          rows.sort(function (a, b) {
            var x = a.cells[col].getAttribute('data-v') || a.cells[col].textContent;
            var y = b.cells[col].getAttribute('data-v') || b.cells[col].textContent;
            var c = num ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y, 'zh-CN');
            return down ? -c : c;
          });
          for (var j = 0; j < rows.length; j++) body.appendChild(rows[j]);
          th.setAttribute('data-dir', down ? 'down' : 'up');
          window.sessionStorage && sessionStorage.setItem('board-sort', col + ':' + (down ? 'down' : 'up'));
        });
      })(i, heads[i]);
    }
  }
  function restore(table) {
    var s = window.sessionStorage && sessionStorage.getItem('board-sort');
    if (!s) return;
    var p = s.split(':'), th = table.querySelectorAll('th')[+p[0]];
    if (!th) return;
    th.setAttribute('data-dir', p[1] === 'down' ? 'up' : 'down');
    th.click();
  }
  var tables = document.querySelectorAll('table.sortable');
  for (var k = 0; k < tables.length; k++) sortable(tables[k]);
  var board = document.getElementById('board');
  if (board) {
    restore(board.querySelector('table'));
    setInterval(function () {
      var x = new XMLHttpRequest();
      x.open('GET', board.getAttribute('data-src'));
      x.onload = function () {
        if (x.status === 200) {
          board.innerHTML = x.responseText;
          var t = board.querySelector('table');
          sortable(t);
          restore(t);
        }
      };
      x.send();
    }, 30000);
  }

  // 补交文件: the chosen file is the body itself (the browser reads it from disk as it
  // sends), its name percent-encoded in X-File-Name, the session's CSRF token in
  // X-CSRF-Token. XMLHttpRequest, not fetch(), for the upload's progress. Success is
  // a redirect to the item the link became, which the request follows.
  function mib(n) {
    return n >= 1073741824 ? (n / 1073741824).toFixed(2) + ' GiB' : (n / 1048576).toFixed(1) + ' MiB';
  }
  function said(x) {
    try {
      var j = JSON.parse(x.responseText);
      if (j && j.message) return j;
    } catch (e) {}
    var doc = new DOMParser().parseFromString(x.responseText || '', 'text/html');
    var p = doc.querySelector('.error');
    return { code: '', message: p ? p.textContent : '提交失败（' + x.status + '），请刷新页面后重试。' };
  }
  var form = document.getElementById('attach');
  if (form) {
    var input = form.querySelector('input[type=file]');
    var confirm = form.querySelector('.confirm');
    var box = form.querySelector('input[name=confirm]');
    var button = form.querySelector('button');
    var bar = form.querySelector('progress');
    var message = form.querySelector('.message');
    var show = function (text, bad) {
      message.textContent = text;
      message.className = bad ? 'message error' : 'message';
    };
    input.addEventListener('change', function () {
      confirm.hidden = true;
      box.checked = false;
      show('', false);
    });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var file = input.files && input.files[0];
      if (!file) return show('请先选择文件。', true);
      var max = +form.getAttribute('data-max');
      if (max && file.size > max) return show('文件 ' + mib(file.size) + ' 超过上限 ' + form.getAttribute('data-max-text') + '（links.max_size）', true);
      if (file.size === 0) return show('文件是空的', true);
      var x = new XMLHttpRequest();
      x.open('POST', '/items/' + form.getAttribute('data-item') + '/attach');
      x.setRequestHeader('Content-Type', 'application/octet-stream');
      x.setRequestHeader('X-CSRF-Token', form.getAttribute('data-csrf'));
      x.setRequestHeader('X-File-Name', encodeURIComponent(file.name));
      if (box.checked) x.setRequestHeader('X-Confirm', '1');
      button.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      show('正在上传 ' + file.name + '……', false);
      x.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        bar.value = Math.floor(e.loaded * 100 / e.total);
        show('正在上传：' + bar.value + '%（' + mib(e.loaded) + ' / ' + mib(e.total) + '）', false);
      };
      x.upload.onload = function () {
        bar.value = 100;
        show('上传完成，正在检查文件并计入，请稍候……', false);
      };
      x.onload = function () {
        button.disabled = false;
        if (x.status === 200 && x.responseURL && x.responseURL.indexOf('/attach') < 0) {
          window.location.href = x.responseURL;
          return;
        }
        bar.hidden = true;
        var r = said(x);
        if (r.code === 'needs_confirmation') confirm.hidden = false;
        show('未补交：' + r.message, true);
      };
      x.onerror = function () {
        button.disabled = false;
        bar.hidden = true;
        show('上传中断（网络错误或服务器已关闭连接），请检查网络后重新提交。', true);
      };
      x.send(file);
    });
  }
})();
