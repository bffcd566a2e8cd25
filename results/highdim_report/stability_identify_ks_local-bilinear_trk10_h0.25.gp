set encoding utf8
set datafile missing '?'
set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'stability_identify_ks_local-bilinear_trk10_h0.25.svg.tmp'
set title "Stability region of trk10 trained with a local-bilinear model on ks (identify, h = 0.25)" noenhanced
set xlabel 'Re(h λ)' noenhanced
set ylabel 'Im(h λ)' noenhanced
set size ratio -1
set grid lc rgb '#dddddd'
set xrange [-13.1:6.23]
set yrange [-4.33:4.33]
set xzeroaxis lt -1 lc rgb '#888888'
set yzeroaxis lt -1 lc rgb '#888888'
set key outside right top noenhanced
set style fill transparent solid 0.25 noborder
plot 'stability_identify_ks_local-bilinear_trk10_h0.25.dat' index 0 with filledcurves closed lc rgb '#1f77b4' title 'trk10 h=0.25', \
     'stability_identify_ks_local-bilinear_trk10_h0.25.dat' index 0 with lines lw 2 lc rgb '#1f77b4' notitle, \
     'stability_identify_ks_local-bilinear_trk10_h0.25.dat' index 1 with lines lw 2 dt 2 lc rgb '#d62728' title 'RK4', \
     'stability_identify_ks_local-bilinear_trk10_h0.25.dat' index 2 with lines lw 2 dt 3 lc rgb '#2ca02c' title 'Euler'
