// The reference page: Swagger UI on the document the gateway rewrote for partners, served from this
// gateway (no CDN, no validator badge), "try it" sending calls to the gateway with a client-credentials token.
(function () {
  var root = document.getElementById("swagger-ui");
  var ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    persistAuthorization: false,
  });
  if (root.dataset.clientId) {
    ui.initOAuth({ clientId: root.dataset.clientId });
  }
  window.portalUi = ui;
})();
