// chartview.js: one line chart on a canvas, drawn with Debian's Chart.js
// (the global Chart of /javascript/chart.js/chart.min.js).  The colour is
// the style sheet's --chart.  No animation: the chart is drawn at once,
// and performance mark "pgsched:chart" says when it first was on screen.
import {markPainted} from "./dom.js";

const markPlugin = {
	id: "pgschedMark",
	afterRender() {
		markPainted("pgsched:chart");
	},
};

export function chartColour() {
	return getComputedStyle(document.documentElement)
	    .getPropertyValue("--chart").trim();
}

// Draws values (numbers or null) over labels on canvas, replacing the
// chart it held; returns the Chart.
export function drawChart(canvas, old, labels, values, label) {
	if (old)
		old.destroy();
	const colour = chartColour();
	return new Chart(canvas, {
		type: "line",
		data: {
			labels,
			datasets: [{
				label,
				data: values,
				borderColor: colour,
				backgroundColor: colour,
				pointBackgroundColor: colour,
				borderWidth: 2,
				pointRadius: values.length > 60 ? 0 : 3,
				spanGaps: false,
			}],
		},
		options: {
			animation: false,
			responsive: true,
			maintainAspectRatio: false,
			plugins: {legend: {display: true}},
			scales: {x: {ticks: {maxTicksLimit: 12}}},
		},
		plugins: [markPlugin],
	});
}
