// The console's only script: sort the board by a column, refresh it every 30 s.
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
})();
