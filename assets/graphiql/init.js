// Mounts GraphiQL on this origin's /graphql. Served as a file, not inline, so the page's
// Content-Security-Policy can allow scripts from this origin only.
(function () {
  var fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).href });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      defaultQuery:
        '# Documents, newest first. Press the run button (or Ctrl-Enter).\n' +
        '{\n  documents(first: 5) {\n    nodes { slug title kind head { hash createdAt } }\n  }\n}\n',
    }),
  );
})();
