// Repairs to the markup of the theme and of Sphinx that axe-core reports as serious or critical.
document.addEventListener("DOMContentLoaded", function () {
  // Label in name (WCAG 2.5.3): a few controls have an accessible name that leaves out the text
  // they show, so a reader using speech input cannot say what they see. The "Show code cell
  // source" toggles and the "Search Ctrl+K" field are best named by their own text.
  document.querySelectorAll("summary[aria-label='Toggle hidden content'], " +
                            ".search-button-field[aria-label]").forEach(function (element) {
    element.removeAttribute("aria-label");
  });
  // The colour-mode button shows the title of the current mode's icon: name all three.
  document.querySelectorAll(".theme-switch-button").forEach(function (button) {
    button.setAttribute("aria-label", "Color mode: light, dark or system settings");
  });
  // A list must hold list items: the bibliography's entries carry DPUB-ARIA's doc-biblioentry,
  // a role that DPUB-ARIA 1.1 deprecates in favour of listitem.
  document.querySelectorAll("[role='list'] > [role='doc-biblioentry']").forEach(function (entry) {
    entry.setAttribute("role", "listitem");
  });
});
